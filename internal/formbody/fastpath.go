package formbody

import (
	"net/url"
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
	if rd.simpleGuards && simpleName(name) {
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
	if p.simpleGuards && !dotted && path == key && simpleName(path) {
		return nil
	}
	return p.spec.checkJSONName(path, key, dotted)
}

// unescapeForm decodes a form component as url.QueryUnescape does,
// returning s itself (no allocation) when there is nothing to decode. The
// fast path decodes into rd.scratch when the value fits there: no
// allocation per escaped value either.
func (rd *reading) unescapeForm(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	if rd.general || cap(rd.scratch)-len(rd.scratch) < len(s) {
		v, err := url.QueryUnescape(s)
		return v, err == nil
	}
	// The same decoding as url.QueryUnescape: '+' is a space, '%' must be
	// followed by two hex digits. The decoded value is never longer than
	// s, so it fits in the room checked above and buf is never
	// reallocated.
	start := len(rd.scratch)
	buf := rd.scratch
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			buf = append(buf, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			buf = append(buf, ' ')
		default:
			buf = append(buf, c)
		}
	}
	rd.scratch = buf
	return scratchString(buf[start:]), true
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
