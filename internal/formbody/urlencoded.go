package formbody

import (
	"net/http"
	"strings"
)

// parseURLEncoded follows url.ParseQuery (split on '&', empty pairs
// skipped, a pair without '=' has an empty value, '+' is a space) but is
// stricter where parsers disagree: a raw ';' (an old separator some
// frameworks still honour) or a bad percent escape refuses the body
// instead of being skipped.
//
// Names and values without escapes are slices of the body; decoded ones
// go to the reading's scratch space when it has room.
func (rd *reading) parseURLEncoded() (Fields, error) {
	s := rd.body
	if looksLikeJSON(s) {
		// A portal that decodes the raw body as JSON whatever its
		// Content-Type (json_decode of php://input, Flask's
		// get_json(force=True)) would read other fields than the guard.
		return Fields{}, malformed(ReasonAmbiguousMediaType, "form body is a JSON document")
	}
	pairs := strings.Count(s, "&")
	if pairs >= maxFormFields {
		// PHP reads the first max_input_vars (1000) fields and drops the
		// rest; Django refuses more than 1000.
		return Fields{}, newError(http.StatusBadRequest, ReasonTooManyFields,
			"form body has more fields than PHP and Django read")
	}
	f := Fields{list: rd.fieldList(pairs + 1)}
	var err error
	if rd.general {
		err = rd.formPairs(&f)
	} else {
		err = rd.formPairsFast(&f)
	}
	if err != nil {
		return Fields{}, err
	}
	return f, nil
}

// formPairs reads the pairs of rd.body into f.
func (rd *reading) formPairs(f *Fields) error {
	s := rd.body
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return errSemicolon()
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, ok := rd.unescapeForm(rawKey)
		if !ok {
			return errEscape()
		}
		if err := rd.checkName(key); err != nil {
			return err
		}
		if rd.spec.isPassword(key) {
			// Validate without decoding: the value is never kept.
			if !validEscapes(rawValue) {
				return errEscape()
			}
			continue
		}
		value, ok := rd.unescapeForm(rawValue)
		if !ok {
			return errEscape()
		}
		f.list = append(f.list, field{name: key, value: value, kind: kindString})
	}
	return nil
}

func errSemicolon() error {
	return malformed(ReasonMalformedForm, "form body uses ';' as a separator")
}

func errEscape() error {
	return malformed(ReasonMalformedForm, "form body has an invalid percent escape")
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
func looksLikeJSON(s string) bool {
	s = strings.TrimPrefix(s, "\xef\xbb\xbf")
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		case '{', '[':
			return true
		default:
			return false
		}
	}
	return false
}
