package formbody

import (
	"mime"
	"net/http"
	"regexp"
	"strings"
)

type format uint8

const (
	formatUnsupported format = iota
	formatURLEncoded
	formatMultipart
	formatJSON
)

// mediaType is what the Content-Type header says about the body.
type mediaType struct {
	format   format
	boundary string
	// asciiOnly is set for charset=us-ascii: the body passes only if it
	// reads the same as UTF-8, every byte and every decoded guarded value
	// below 0x80.
	asciiOnly bool
}

// classify maps a Content-Type to the parser for it and applies the media
// type rules of the policy:
//
//   - a header that does not parse is unsupported, because another parser
//     might read it differently;
//   - RFC 2231 parameters ("charset*=", "boundary*=") are refused: Go
//     decodes them, PHP, Rack and busboy do not;
//   - the charset must be UTF-8 (utf-8 or utf8, any case, quoted or not)
//     or absent; us-ascii only for a body that is all ASCII. Django and
//     body-parser decode other charsets (utf-7 turns "+AHU-sername" into
//     "username"), the guard does not;
//   - multipart/form-data must be written in the one form every parser
//     reads the same boundary from (multipartType);
//   - a form's Content-Type must not contain "/json" or "+json" (in a
//     parameter, a multipart boundary included): Laravel's Request reads
//     the body of such a request as a JSON document (isJson), so its
//     input() has none of the form's fields and reads them from the
//     query string instead.
func classify(contentType string, spec *Spec) (mediaType, error) {
	if strings.IndexByte(contentType, '*') >= 0 {
		return mediaType{}, newError(http.StatusUnsupportedMediaType, ReasonAmbiguousMediaType,
			"Content-Type uses RFC 2231 extended parameters")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return mediaType{}, unsupported(spec)
	}
	if raw, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(raw) != mt {
		// Django compares the media type case-sensitively: it reads no
		// fields from "Multipart/Form-Data", Go and PHP do.
		return mediaType{}, newError(http.StatusUnsupportedMediaType, ReasonAmbiguousMediaType,
			"Content-Type media type is not written in lower case")
	}
	var m mediaType
	switch {
	case mt == "application/x-www-form-urlencoded":
		m.format = formatURLEncoded
	case mt == "multipart/form-data":
		m.format = formatMultipart
		b, err := multipartBoundary(contentType)
		if err != nil {
			return mediaType{}, err
		}
		m.boundary = b
	case mt == "application/json":
		// Not the +json types: Express's json parser skips them by
		// default, Django and PHP portals decode them anyway.
		m.format = formatJSON
	default:
		return mediaType{}, unsupported(spec)
	}
	if m.format != formatJSON && namesJSON(contentType) {
		return mediaType{}, newError(http.StatusUnsupportedMediaType, ReasonAmbiguousMediaType,
			"form Content-Type contains /json or +json, which Laravel reads as a JSON body")
	}
	if cs, ok := params["charset"]; ok {
		switch {
		case strings.EqualFold(cs, "utf-8"), strings.EqualFold(cs, "utf8"):
		case strings.EqualFold(cs, "us-ascii"):
			m.asciiOnly = true
		default:
			return mediaType{}, newError(http.StatusUnsupportedMediaType, ReasonCharset,
				"request body has a charset other than UTF-8")
		}
	}
	return m, nil
}

// namesJSON reports a Content-Type that Laravel's Request::isJson takes
// for JSON: one containing "/json" or "+json" (Laravel compares case
// sensitively; any case is refused here).
func namesJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.Contains(ct, "/json") || strings.Contains(ct, "+json")
}

func unsupported(spec *Spec) *Error {
	return newError(spec.UnsupportedStatus, ReasonUnsupportedMediaType,
		"request body has a content type the guard does not read")
}

// multipartType is the only multipart/form-data Content-Type the guard
// reads: an optional UTF-8 charset, then the boundary, last, as a plain
// token or quoted. Each parser finds the boundary its own way: PHP takes
// the first "boundary" substring up to a ',' (so "xboundary=AAA;
// boundary=BBB" is AAA there and BBB for Go, and a parameter after the
// boundary becomes part of it), Rack's pattern takes the last
// "boundary=", Go parses parameters (and lower-cases their names, PHP does
// not), and quoting and whitespace around '=' are read differently. The
// characters allowed are RFC 2046's bchars without space, ',' and '=',
// which any of these readings keep intact.
var multipartType = regexp.MustCompile(`^(?i:multipart/form-data)(?:; ?(?i:charset)=(?:(?i:utf-8)|"(?i:utf-8)"))?; ?boundary=(?:([0-9A-Za-z'()+_\-./:?]{1,70})|"([0-9A-Za-z'()+_\-./:?]{1,70})")$`)

func multipartBoundary(contentType string) (string, error) {
	m := multipartType.FindStringSubmatch(contentType)
	if m == nil {
		if !strings.Contains(strings.ToLower(contentType), "boundary") {
			return "", malformed(ReasonMalformedMultipart, "multipart body has no boundary parameter")
		}
		return "", malformed(ReasonAmbiguousBoundary, "multipart Content-Type does not give its boundary in the one form every parser reads alike")
	}
	if m[1] != "" {
		return m[1], nil
	}
	return m[2], nil
}
