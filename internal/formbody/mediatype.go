package formbody

import (
	"mime"
	"strings"
)

type format uint8

const (
	formatUnsupported format = iota
	formatURLEncoded
	formatMultipart
	formatJSON
)

// classify maps a Content-Type to the parser for it. The media type compares
// ignoring case and parameters (charset) are allowed; a header that does not
// parse is unsupported, because another parser might read it differently.
// boundary is returned for multipart.
func classify(contentType string) (f format, boundary string) {
	// Fast path for the common exact spellings: no allocation.
	switch contentType {
	case "application/x-www-form-urlencoded":
		return formatURLEncoded, ""
	case "application/json":
		return formatJSON, ""
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return formatUnsupported, ""
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return formatURLEncoded, ""
	case mt == "multipart/form-data":
		return formatMultipart, params["boundary"]
	case mt == "application/json", isJSONSuffix(mt):
		return formatJSON, ""
	}
	return formatUnsupported, ""
}

// isJSONSuffix accepts type/subtype+json (RFC 6839), with a real subtype
// before the suffix.
func isJSONSuffix(mt string) bool {
	_, sub, ok := strings.Cut(mt, "/")
	return ok && len(sub) > len("+json") && strings.HasSuffix(sub, "+json")
}
