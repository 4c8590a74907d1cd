package formbody

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseMultipart reads multipart/form-data in the one framing every
// mainstream parser splits alike, and refuses the rest. Go's
// mime/multipart is not used: it accepts shapes other parsers read
// differently (LF-only line ends, a "--boundary" line with trailing
// characters taken as content that PHP takes as a delimiter, RFC 2231
// parameters that win over plain ones, repeated headers).
//
// Framing: the body starts with "--boundary" CRLF; every occurrence of
// "--boundary" must be at the start of a line (after CRLF) and be followed
// by CRLF (next part) or "--" (end), with at most a CRLF after the end.
// Part headers are CRLF-separated "Name: value" lines without folding,
// each of Content-Disposition, Content-Type and Content-Transfer-Encoding
// at most once (Content-Disposition exactly once). The disposition is
// form-data with a name and optionally a filename, nothing else, values a
// token or a quoted string without backslashes. A part with a filename is
// a file and is skipped, unless its name is a guarded name (PHP, Django
// and Go disagree on whether an empty filename makes a file). A guarded
// value part follows checkGuardedPart. Parts are capped at spec.MaxParts,
// files included.
func parseMultipart(s, boundary string, spec *Spec) (Fields, error) {
	delim := "--" + boundary
	if !strings.HasPrefix(s, delim+"\r\n") {
		return Fields{}, malformed(ReasonAmbiguousBoundary, "multipart body does not start with its boundary line")
	}
	var f Fields
	start := len(delim) + 2
	for at, parts := start, 0; ; {
		j := strings.Index(s[at:], delim)
		if j < 0 {
			return Fields{}, malformed(ReasonMalformedMultipart, "multipart body has no closing boundary")
		}
		j += at
		if j < 2 || s[j-2:j] != "\r\n" {
			return Fields{}, malformed(ReasonAmbiguousBoundary, "multipart body has its boundary inside a line")
		}
		if parts++; parts > spec.MaxParts {
			return Fields{}, newError(http.StatusBadRequest, ReasonTooManyParts,
				"multipart body has more parts than allowed")
		}
		if err := readPart(s[start:j-2], spec, &f); err != nil {
			return Fields{}, err
		}
		rest := s[j+len(delim):]
		switch {
		case strings.HasPrefix(rest, "--"):
			if epilogue := rest[2:]; epilogue != "" && epilogue != "\r\n" {
				return Fields{}, malformed(ReasonAmbiguousBoundary, "multipart body has data after its closing boundary")
			}
			return f, nil
		case strings.HasPrefix(rest, "\r\n"):
			start = j + len(delim) + 2
			at = start
		default:
			return Fields{}, malformed(ReasonAmbiguousBoundary, "multipart body has a boundary line with trailing characters")
		}
	}
}

// partHeaders are the headers of one part the policy reads.
type partHeaders struct {
	disposition, contentType, transfer, length string
	hasType, hasTransfer, hasLength, other     bool
}

// readPart parses one part (headers, blank line, content) and records its
// value when it is a form value.
func readPart(p string, spec *Spec, f *Fields) error {
	head, value, ok := strings.Cut(p, "\r\n\r\n")
	if !ok {
		return malformed(ReasonMalformedMultipart, "multipart part has no end of headers")
	}
	h, err := parsePartHeaders(head)
	if err != nil {
		return err
	}
	if !identityTransfer(h.transfer) {
		return newError(http.StatusUnsupportedMediaType, ReasonContentEncoding,
			"multipart part has a Content-Transfer-Encoding the guard does not read")
	}
	name, filename, hasFilename, err := parseDisposition(h.disposition)
	if err != nil {
		return err
	}
	if err := spec.checkName(name); err != nil {
		return err
	}
	guarded := spec.isGuarded(name)
	if hasFilename {
		if guarded {
			return fieldError(ReasonAmbiguousPart, name, "multipart part %q carries a filename")
		}
		_ = filename
		return nil // a file: not a form value
	}
	if guarded {
		if err := checkGuardedPart(name, value, &h); err != nil {
			return err
		}
	}
	if spec.isPassword(name) {
		return nil // never read
	}
	f.list = append(f.list, field{name: name, value: value, kind: kindString})
	return nil
}

// checkGuardedPart applies the header rules of a part whose value the
// guard reads: no header beyond Content-Disposition, an identity
// Content-Transfer-Encoding, a Content-Length that is the value's length
// (parsers ignore it; one that did not would read another value), and a
// Content-Type of text/plain with at most a UTF-8 charset (.NET's
// StringContent sends "text/plain; charset=utf-8"; Werkzeug and busboy
// decode a part by its charset, so another one reads other characters).
func checkGuardedPart(name, value string, h *partHeaders) error {
	if h.other {
		return fieldError(ReasonAmbiguousPart, name, "multipart part %q has headers the guard does not read")
	}
	if h.hasLength && h.length != strconv.Itoa(len(value)) {
		return fieldError(ReasonAmbiguousPart, name, "multipart part %q has a Content-Length that is not its length")
	}
	if !h.hasType {
		return nil
	}
	mt, params, err := mime.ParseMediaType(h.contentType)
	if err != nil || mt != "text/plain" || strings.IndexByte(h.contentType, '*') >= 0 {
		return fieldError(ReasonAmbiguousPart, name, "multipart part %q has a Content-Type other than text/plain")
	}
	for k, v := range params {
		if k != "charset" {
			return fieldError(ReasonAmbiguousPart, name, "multipart part %q has a Content-Type other than text/plain")
		}
		if !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
			return fieldError(ReasonCharset, name, "multipart part %q declares a charset other than UTF-8")
		}
	}
	return nil
}

func parsePartHeaders(head string) (partHeaders, error) {
	var h partHeaders
	var hasDisposition bool
	bad := func() (partHeaders, error) {
		return partHeaders{}, malformed(ReasonAmbiguousPart, "multipart part headers are not in the one form every parser reads alike")
	}
	for line := range strings.SplitSeq(head, "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' || hasControl(line) {
			return bad() // folding, a bare CR or LF, a NUL, another control
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return bad()
		}
		value = strings.Trim(value, " \t")
		var dst *string
		var seen *bool
		switch strings.ToLower(name) {
		case "content-disposition":
			dst, seen = &h.disposition, &hasDisposition
		case "content-type":
			dst, seen = &h.contentType, &h.hasType
		case "content-transfer-encoding":
			dst, seen = &h.transfer, &h.hasTransfer
		case "content-length":
			// OkHttp writes one per part; every parser ignores it.
			dst, seen = &h.length, &h.hasLength
		default:
			h.other = true
			continue
		}
		if *seen {
			return partHeaders{}, malformed(ReasonAmbiguousPart, "multipart part repeats a header")
		}
		*dst, *seen = value, true
	}
	if !hasDisposition {
		return partHeaders{}, malformed(ReasonMalformedMultipart, "multipart part has no form-data Content-Disposition")
	}
	return h, nil
}

// parseDisposition reads `form-data; name="x"[; filename="y"]`. Parameter
// names compare ignoring case (every parser does); RFC 2231 forms
// ("name*="), other parameters, repeats, backslashes in quoted values (Go
// and busboy unescape them, PHP does not) and a missing name are refused.
func parseDisposition(v string) (name, filename string, hasFilename bool, err error) {
	bad := malformed(ReasonAmbiguousPart, "multipart Content-Disposition is not in the one form every parser reads alike")
	typ, rest, _ := strings.Cut(v, ";")
	if !strings.EqualFold(strings.TrimRight(typ, " \t"), "form-data") {
		return "", "", false, malformed(ReasonMalformedMultipart, "multipart part has no form-data Content-Disposition")
	}
	if !utf8.ValidString(v) {
		return "", "", false, malformed(ReasonInvalidUTF8, "multipart Content-Disposition is not valid UTF-8")
	}
	hasName := false
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		key, after, ok := strings.Cut(rest, "=")
		if !ok || !isToken(key) {
			return "", "", false, bad
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return "", "", false, bad
			}
			val, rest = after[1:1+end], after[2+end:]
			if strings.IndexByte(val, '\\') >= 0 {
				return "", "", false, bad
			}
		} else {
			end := strings.IndexAny(after, "; \t")
			if end < 0 {
				end = len(after)
			}
			val, rest = after[:end], after[end:]
			if !isToken(val) || strings.IndexByte(val, '\'') >= 0 {
				// PHP strips single quotes around a value; others keep them.
				return "", "", false, bad
			}
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ';' {
				return "", "", false, bad
			}
			rest = rest[1:]
			if strings.TrimLeft(rest, " \t") == "" {
				return "", "", false, bad
			}
		}
		switch strings.ToLower(key) {
		case "name":
			if hasName {
				return "", "", false, bad
			}
			name, hasName = val, true
		case "filename":
			if hasFilename {
				return "", "", false, bad
			}
			filename, hasFilename = val, true
		default:
			return "", "", false, bad
		}
	}
	if !hasName || name == "" {
		return "", "", false, malformed(ReasonMalformedMultipart, "multipart part has no name")
	}
	return name, filename, hasFilename, nil
}

// isToken reports an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func identityTransfer(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// hasControl reports a control character (tab included): parsers differ on
// them in header values, Go's refuses them in quoted strings, PHP's keeps
// them.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
