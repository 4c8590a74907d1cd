package formbody

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
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
	// The two bare media types first, which spares the search for ';'.
	switch contentType {
	case "application/x-www-form-urlencoded":
		return mediaType{format: formatURLEncoded}, true
	case "application/json":
		return mediaType{format: formatJSON}, true
	}
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
	if p.simpleKey(path, key, dotted) {
		return nil
	}
	return p.spec.checkJSONName(path, key, dotted)
}

// simpleKey reports a key that checkName passes without looking further.
func (p *jsonParser) simpleKey(path, key string, dotted bool) bool {
	return !p.general && p.simpleGuards && !dotted && path == key && simpleName(path)
}

// unescapeForm decodes a form component as url.QueryUnescape does,
// returning s itself (no allocation) when there is nothing to decode.
func (rd *reading) unescapeForm(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	v, _, ok := rd.decodeForm(s)
	return v, ok
}

// decodeForm is url.QueryUnescape, decoding into rd.scratch on the fast
// path when the value fits there: no allocation per escaped value. ascii
// reports a decoded value known to be ASCII (false: not known).
func (rd *reading) decodeForm(s string) (v string, ascii, ok bool) {
	if rd.general || cap(rd.scratch)-len(rd.scratch) < len(s) {
		v, err := url.QueryUnescape(s)
		return v, false, err == nil
	}
	// The same decoding as url.QueryUnescape: '+' is a space, '%' must be
	// followed by two hex digits. The decoded value is never longer than
	// s, so it fits in the room checked above and buf is never
	// reallocated.
	start := len(rd.scratch)
	buf := rd.scratch[start : start+len(s)]
	w := 0
	var all byte // every decoded byte ORed: ASCII when below 0x80
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false, false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			c = ' '
		}
		buf[w] = c
		all |= c
		w++
	}
	rd.scratch = rd.scratch[:start+w]
	return scratchString(buf[:w]), all < utf8.RuneSelf, true
}

// formClass sorts the bytes of a form body for formPairsFast, one bit per
// question it asks of a name or a value.
var formClass = func() (t [256]uint8) {
	for c := range t {
		switch c {
		case '&':
			t[c] |= classAmp | classEndName
		case '=':
			t[c] |= classEndName
		case '%', '+':
			t[c] |= classEscaped
		case ';':
			t[c] |= classSemicolon
		}
		if !simpleNameByte[c] {
			t[c] |= classNotSimple
		}
		if c >= utf8.RuneSelf {
			t[c] |= classNotASCII
		}
	}
	return t
}()

const (
	classAmp       = 1 << iota // ends a value
	classEndName               // '&' or '=': ends a name
	classEscaped               // something to decode
	classSemicolon             // the separator the policy refuses
	classNotSimple             // not a byte of a simpleName
	classNotASCII
)

// shortFormValue is how far formPairsFast scans a value byte by byte;
// past it, the vectorised searches win (a device payload).
const shortFormValue = 32

// formPairsFast is formPairs in one pass over each name and each short
// value, which answers every question the pair raises (the end of the
// name and of the value, escapes, ';', a simpleName, ASCII), and the name
// checks of the fast path.
func (rd *reading) formPairsFast(f *Fields) error {
	s := rd.body
	for start := 0; start < len(s); {
		// The name: up to the first '=' or '&'.
		j, nameClass := scanForm(s, start, len(s), classEndName)
		rawKey, rawValue := s[start:j], ""
		var valueClass uint8
		end := j
		if j < len(s) && s[j] == '=' {
			end, valueClass = scanForm(s, j+1, min(len(s), j+1+shortFormValue), classAmp)
			if end < len(s) && s[end] != '&' {
				// A long value: the rest of it is searched, and not told
				// ASCII (resolve validates it).
				rest := s[end:]
				if k := strings.IndexByte(rest, '&'); k >= 0 {
					rest = rest[:k]
				}
				end += len(rest)
				valueClass |= classNotASCII
				if strings.IndexByte(rest, '%') >= 0 || strings.IndexByte(rest, '+') >= 0 {
					valueClass |= classEscaped
				}
				if strings.IndexByte(rest, ';') >= 0 {
					valueClass |= classSemicolon
				}
			}
			rawValue = s[j+1 : end]
		}
		empty := start == end
		start = end + 1
		if empty {
			continue
		}
		if (nameClass|valueClass)&classSemicolon != 0 {
			return errSemicolon()
		}
		key := rawKey
		// rd.checkName, and Spec.isPassword: when the name and every
		// guarded name are simpleNames, comparing ignoring case is
		// comparing (no two simpleNames differ only in case). A name
		// with nothing to decode is a simpleName when none of its bytes
		// says otherwise (simpleName: not empty, every byte simple).
		var simple bool
		if nameClass&classEscaped != 0 {
			var ok bool
			if key, _, ok = rd.decodeForm(rawKey); !ok {
				return errEscape()
			}
			simple = rd.simpleGuards && simpleName(key)
		} else {
			simple = rd.simpleGuards && nameClass&classNotSimple == 0 && key != ""
		}
		if !simple {
			if err := rd.spec.checkName(key); err != nil {
				return err
			}
		}
		if simple && slices.Contains(rd.spec.PasswordFields, key) || !simple && rd.spec.isPassword(key) {
			// Validate without decoding: the value is never kept.
			if valueClass&classEscaped != 0 && !validEscapes(rawValue) {
				return errEscape()
			}
			continue
		}
		value, ascii := rawValue, valueClass&classNotASCII == 0
		if valueClass&classEscaped != 0 {
			var ok bool
			if value, ascii, ok = rd.decodeForm(rawValue); !ok {
				return errEscape()
			}
		}
		f.list = append(f.list, field{name: key, value: value, kind: kindString, ascii: ascii})
	}
	return nil
}

// scanForm scans s from i up to the first byte of class stop, or to
// limit, and returns where it stopped and the classes of the bytes before
// it ORed.
func scanForm(s string, i, limit int, stop uint8) (int, uint8) {
	var class uint8
	for ; i < limit; i++ {
		c := formClass[s[i]]
		if c&stop != 0 {
			break
		}
		class |= c
	}
	return i, class
}

// isPasswordName reports a tracked field that is also a password field (a
// misconfiguration Validate reports). With simpleGuards the name has no
// '.', so it is its own last segment, and the comparisons ignoring case
// are comparisons (see formPairsFast).
func (rd *reading) isPasswordName(name string) bool {
	if rd.defaultNames {
		// None of the default tracked names is a password name.
		return false
	}
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
