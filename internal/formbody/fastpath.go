package formbody

import (
	"net/url"
	"slices"
	"strings"
	"unsafe"
)

// The fast paths read the shapes browsers and HTTP clients send (a form or
// JSON content type spelled the usual way, lower-case ASCII field names)
// without the general parsers, and hand everything else to them. Each
// gives exactly the answer of the general path it stands in front of; the
// differential test (fastpath_test.go) checks that over the policy's
// corpora with reading.general set.

// classify is the package's classify with the common Content-Type values
// recognised first.
func (rd *reading) classify(contentType string) (mediaType, error) {
	if !rd.general {
		if m, ok := classifyCommon(contentType); ok {
			return m, nil
		}
	}
	return classify(contentType, &rd.spec)
}

// classifyCommon recognises application/x-www-form-urlencoded and
// application/json, alone or followed by ";charset=" or "; charset=" and
// utf-8 or utf8 in any case, unquoted: what browsers, fetch, jQuery and the
// usual HTTP clients send. mime.ParseMediaType reads these as the media
// type itself with a UTF-8 charset, which classify accepts without a
// condition. Anything else (another parameter, white space elsewhere,
// quoting, an upper-case letter in the media type or the parameter name)
// is left to classify.
func classifyCommon(contentType string) (mediaType, bool) {
	base, params, hasParams := strings.Cut(contentType, ";")
	var m mediaType
	switch base {
	case "application/x-www-form-urlencoded":
		m.format = formatURLEncoded
	case "application/json":
		m.format = formatJSON
	default:
		return mediaType{}, false
	}
	if !hasParams {
		return m, true
	}
	cs, ok := strings.CutPrefix(strings.TrimPrefix(params, " "), "charset=")
	if !ok || !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return mediaType{}, false
	}
	return m, true
}

// simpleGuards reports whether every guarded name is a simpleName, as the
// default names (username, smartid_data, password) are.
func (s *Spec) simpleGuards() bool {
	for i := range s.guardedCount() {
		if !simpleName(s.guarded(i)) {
			return false
		}
	}
	return true
}

// checkName is Spec.checkName, with a simpleName passed without looking
// further when every guarded name is a simpleName too. Such a name is its
// own nameKey in both readings and holds no NUL, so its key overlaps a
// guarded name's key only when the two names are equal, and an equal name
// is the guarded field itself, which checkName passes.
func (rd *reading) checkName(name string) error {
	if !rd.general && rd.simpleGuards && simpleName(name) {
		return nil
	}
	return rd.spec.checkName(name)
}

// checkName is Spec.checkJSONName, with a top-level key that is a
// simpleName passed without looking further when every guarded name is a
// simpleName (a path with a '.' is never a simpleName). Then the path is
// the key, its own nameKey, and equals a guarded name's key only when it
// equals the name, which checkJSONName passes (a password name ignoring
// case, the others when the path is not dotted).
func (p *jsonParser) checkName(path, key string, dotted bool) error {
	if !p.general && p.simpleGuards && !dotted && path == key && simpleName(path) {
		return nil
	}
	return p.spec.checkJSONName(path, key, dotted)
}

// unescapeForm decodes a form component as url.QueryUnescape does,
// returning s itself (no allocation) when there is nothing to decode.
func (rd *reading) unescapeForm(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	return rd.decodeForm(s)
}

// decodeForm is url.QueryUnescape, decoding into rd.scratch on the fast
// path when the value fits there: no allocation per escaped value.
func (rd *reading) decodeForm(s string) (string, bool) {
	if rd.general || cap(rd.scratch)-len(rd.scratch) < len(s) {
		v, err := url.QueryUnescape(s)
		return v, err == nil
	}
	// The same decoding as url.QueryUnescape: '+' is a space, '%' must be
	// followed by two hex digits. The decoded value is never longer than
	// s, so it fits in the room checked above and buf is never
	// reallocated.
	start := len(rd.scratch)
	buf := rd.scratch[start : start+len(s)]
	w := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			c = ' '
		}
		buf[w] = c
		w++
	}
	rd.scratch = rd.scratch[:start+w]
	return scratchString(buf[:w]), true
}

// formSpecial marks the bytes of a form body formPairsFast stops at.
var formSpecial = [256]bool{'&': true, '=': true, ';': true, '%': true, '+': true}

// formPairsFast is formPairs with one pass over each name instead of a
// search per separator and escape (names are short), a value searched the
// same way when it is short, and the name checks of the fast path.
func (rd *reading) formPairsFast(f *Fields) error {
	s := rd.body
	for start := 0; start < len(s); {
		// The name: up to the first '=' or '&'.
		j := start
		keyEscaped, semicolon := false, false
		for ; j < len(s) && s[j] != '=' && s[j] != '&'; j++ {
			if formSpecial[s[j]] {
				if s[j] == ';' {
					semicolon = true
				} else {
					keyEscaped = true
				}
			}
		}
		rawKey, rawValue := s[start:j], ""
		valueEscaped := false
		end := j
		if j < len(s) && s[j] == '=' {
			end = len(s)
			if k := strings.IndexByte(s[j+1:], '&'); k >= 0 {
				end = j + 1 + k
			}
			rawValue = s[j+1 : end]
			var valueSemicolon bool
			valueEscaped, valueSemicolon = scanFormValue(rawValue)
			semicolon = semicolon || valueSemicolon
		}
		empty := start == end
		start = end + 1
		if empty {
			continue
		}
		if semicolon {
			return errSemicolon()
		}
		key := rawKey
		if keyEscaped {
			var ok bool
			if key, ok = rd.decodeForm(rawKey); !ok {
				return errEscape()
			}
		}
		// rd.checkName, and Spec.isPassword: when the name and every
		// guarded name are simpleNames, comparing ignoring case is
		// comparing (no two simpleNames differ only in case).
		simple := rd.simpleGuards && simpleName(key)
		if !simple {
			if err := rd.spec.checkName(key); err != nil {
				return err
			}
		}
		if simple && slices.Contains(rd.spec.PasswordFields, key) || !simple && rd.spec.isPassword(key) {
			// Validate without decoding: the value is never kept.
			if valueEscaped && !validEscapes(rawValue) {
				return errEscape()
			}
			continue
		}
		value := rawValue
		if valueEscaped {
			var ok bool
			if value, ok = rd.decodeForm(rawValue); !ok {
				return errEscape()
			}
		}
		f.list = append(f.list, field{name: key, value: value, kind: kindString})
	}
	return nil
}

// scanFormValue reports whether a form value has something to decode
// ('%' or '+') and whether it holds a ';'.
func scanFormValue(v string) (escaped, semicolon bool) {
	if len(v) > 32 {
		// Long values (a device payload): the vectorised searches win.
		return strings.IndexByte(v, '%') >= 0 || strings.IndexByte(v, '+') >= 0, strings.IndexByte(v, ';') >= 0
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '%', '+':
			escaped = true
		case ';':
			semicolon = true
		}
	}
	return escaped, semicolon
}

// isPasswordName reports a tracked field that is also a password field (a
// misconfiguration Validate reports). With simpleGuards the name has no
// '.', so it is its own last segment, and the comparisons ignoring case
// are comparisons (see formPairsFast).
func (rd *reading) isPasswordName(name string) bool {
	if !rd.general && rd.simpleGuards {
		return slices.Contains(rd.spec.PasswordFields, name)
	}
	return rd.spec.isPassword(name) || rd.spec.isPasswordKey(lastSegment(name))
}

// scratchString is the bytes b of rd.scratch as a string without a copy:
// they are written once, before the string is made, and never again.
func scratchString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
