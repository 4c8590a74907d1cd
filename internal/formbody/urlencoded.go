package formbody

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// parseURLEncoded follows url.ParseQuery (split on '&', empty pairs
// skipped, a pair without '=' has an empty value, '+' is a space) but is
// stricter where parsers disagree: a raw ';' (an old separator some
// frameworks still honour) or a bad percent escape refuses the body
// instead of being skipped.
//
// The body is copied to a string once and unescaped names and values are
// slices of it, so a typical login form costs two allocations.
func parseURLEncoded(body []byte, spec *Spec) (Fields, error) {
	if looksLikeJSON(body) {
		// A portal that decodes the raw body as JSON whatever its
		// Content-Type (json_decode of php://input, Flask's
		// get_json(force=True)) would read other fields than the guard.
		return Fields{}, malformed(ReasonAmbiguousMediaType, "form body is a JSON document")
	}
	s := string(body)
	if strings.Count(s, "&") >= maxFormFields {
		// PHP reads the first max_input_vars (1000) fields and drops the
		// rest; Django refuses more than 1000.
		return Fields{}, newError(http.StatusBadRequest, ReasonTooManyFields,
			"form body has more fields than PHP and Django read")
	}
	f := Fields{list: make([]field, 0, strings.Count(s, "&")+1)}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return Fields{}, malformed(ReasonMalformedForm, "form body uses ';' as a separator")
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, ok := unescapeForm(rawKey)
		if !ok {
			return Fields{}, malformed(ReasonMalformedForm, "form body has an invalid percent escape")
		}
		if err := spec.checkName(key); err != nil {
			return Fields{}, err
		}
		if spec.isPassword(key) {
			// Validate without decoding: the value is never kept.
			if !validEscapes(rawValue) {
				return Fields{}, malformed(ReasonMalformedForm, "form body has an invalid percent escape")
			}
			continue
		}
		value, ok := unescapeForm(rawValue)
		if !ok {
			return Fields{}, malformed(ReasonMalformedForm, "form body has an invalid percent escape")
		}
		f.list = append(f.list, field{name: key, value: value, kind: kindString})
	}
	return f, nil
}

// unescapeForm decodes a form component, returning s itself (no
// allocation) when there is nothing to decode.
func unescapeForm(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	v, err := url.QueryUnescape(s)
	return v, err == nil
}

// validEscapes reports whether every '%' in s starts a two-hex-digit
// escape, as url.QueryUnescape requires.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// maxFormFields is PHP's default max_input_vars and Django's
// DATA_UPLOAD_MAX_NUMBER_FIELDS.
const maxFormFields = 1000

// looksLikeJSON reports a body whose first byte that is not white space (or
// a UTF-8 byte order mark) opens a JSON object or array.
func looksLikeJSON(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
