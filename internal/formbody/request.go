package formbody

import (
	"iter"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// checkTrailers refuses a request that sent trailers (HTTP/1.1 chunked or
// HTTP/2). They arrive after the body, where the guard's header checks (the
// X-Login-Guard-* strip among them) never look, and some servers and
// proxies merge them into the headers the portal reads. A login form never
// needs them. Read has consumed the body, so r.Trailer is complete.
func checkTrailers(t http.Header) error {
	if len(t) == 0 {
		return nil // the usual case, without starting an iteration
	}
	for _, vs := range t {
		if len(vs) > 0 {
			return newError(http.StatusBadRequest, ReasonTrailers, "request has trailers")
		}
	}
	return nil
}

// checkConnection refuses a request whose Connection header names a header
// the body is read by: a proxy removes the headers Connection names before
// it passes the request on (RFC 9110, 7.6.1; Caddy's reverse_proxy and
// php_fastcgi do), so the portal would read the body without them. Without
// its Content-Type, a JSON or multipart body the guard read is a form to
// Rack (a POST without one is a form) and to PHP behind php_fastcgi (which
// sends application/x-www-form-urlencoded in its place), and a value the
// guard saw as text becomes the user. Content-Length, Transfer-Encoding
// and Content-Encoding are refused alike: no client names them.
func checkConnection(h http.Header) error {
	for _, line := range h["Connection"] {
		for line != "" {
			var tok string
			tok, line, _ = strings.Cut(line, ",")
			switch tok = strings.TrimSpace(tok); {
			case strings.EqualFold(tok, "Content-Type"), strings.EqualFold(tok, "Content-Length"),
				strings.EqualFold(tok, "Transfer-Encoding"), strings.EqualFold(tok, "Content-Encoding"):
				return newError(http.StatusBadRequest, ReasonHopByHopHeader,
					"the Connection header names a header the body is read by")
			}
		}
	}
	return nil
}

// ParseRequest reads and parses r in one step: Read with max, then Parse
// with the Content-Type header and the URL query. It also refuses a request
// with more than one Content-Type header and a query string that does not
// parse (a ';' separator, a bad escape), since an app might read either
// differently from the guard, a request that sent trailers, one whose
// Connection header names a header its body is read by (checkConnection),
// and a cookie named like a guarded field that contradicts it (checkCookies).
//
// The returned body and the Fields share memory: the body must not be
// modified.
func ParseRequest(r *http.Request, max int64, spec Spec) (Fields, []byte, error) {
	return parseRequest(r, max, &spec, false, nil)
}

// ParseHeldRequest is ParseRequest for a request whose body the caller
// keeps and hands the upstream itself (a login held for a step-up and
// replayed from the guard's memory), so that the parser keeps no copy of
// it (of the password): the Fields own their strings, copied out of the
// memory the body was read into, and that memory (the body and the
// values decoded beside it) is zeroed before it returns, whatever it
// returns. r.Body is left the reader it read, consumed: the caller gives
// the upstream the body it keeps. It costs more allocations than
// ParseRequest, which an ordinary login goes through: there the parser's
// memory is the body the upstream reads (see Read), and nothing wipes it.
func ParseHeldRequest(r *http.Request, max int64, spec Spec) (Fields, error) {
	read := r.Body
	var whole []byte
	f, _, err := parseRequest(r, max, &spec, false, &whole)
	if err == nil {
		f = f.detach()
	}
	clear(whole[:cap(whole)])
	r.Body = read
	return f, err
}

// requestMemory is what ParseRequest keeps beside the body, in one
// allocation: the body handed back to the request, and room for the fields
// of a login form.
type requestMemory struct {
	replay replayBody
	fields [requestFields]field
}

// requestFields is how many fields the request's own storage holds: a
// login form's user and device fields with a CSRF token and a "remember
// me" box (password fields are not kept). A body with more fields gets a
// list of its own.
const requestFields = 4

// A small body is read into the same allocation as its requestMemory, so
// a login form costs one allocation. The buffer holds the body, the byte
// that lets the last Read report EOF, and the room for decoded values. Its
// sizes fill the allocator's 384-, 480- and 1280-byte size classes (on
// 64-bit platforms, with a requestMemory of 216 bytes): a short login form
// (up to 83 bytes) takes the smallest, since the allocator's and the
// collector's work grows with the bytes allocated.
type (
	tinyRequestMemory struct {
		requestMemory
		buf [168]byte
	}
	smallRequestMemory struct {
		requestMemory
		buf [264]byte
	}
	mediumRequestMemory struct {
		requestMemory
		buf [1064]byte
	}
)

// newRequestMemory returns the memory for a body of n bytes and the empty
// buffer to read it into.
func newRequestMemory(n int64, contentType string) (*requestMemory, []byte) {
	size := n + 1 + spareFor(contentType, n)
	switch {
	case size <= int64(len(tinyRequestMemory{}.buf)):
		m := &tinyRequestMemory{}
		return &m.requestMemory, m.buf[:0:size]
	case size <= int64(len(smallRequestMemory{}.buf)):
		m := &smallRequestMemory{}
		return &m.requestMemory, m.buf[:0:size]
	case size <= int64(len(mediumRequestMemory{}.buf)):
		m := &mediumRequestMemory{}
		return &m.requestMemory, m.buf[:0:size]
	}
	return &requestMemory{}, make([]byte, 0, size)
}

// parseRequest is ParseRequest; general turns the fast paths off (see
// reading.general). When whole is not nil it is set to the memory the
// body is read into, to its full capacity (decoded values go after the
// body), for ParseHeldRequest to zero.
func parseRequest(r *http.Request, max int64, spec *Spec, general bool, whole *[]byte) (Fields, []byte, error) {
	// The reading holds the one copy of the Spec the request needs (spec
	// is ParseRequest's parameter, passed by address to spare a copy).
	rd := reading{spec: *spec, general: general}
	rd.spec.setDefaults()
	// The key is canonical: indexing is what r.Header.Values does.
	ct := r.Header["Content-Type"]
	contentType := ""
	if len(ct) == 1 {
		contentType = ct[0]
	}
	var (
		mem *requestMemory
		buf []byte
	)
	limit, hasBody, err := startRead(r, max)
	switch {
	case !hasBody:
	case r.ContentLength >= 0:
		// readBody's path for a declared length, with the memory
		// allocated here rather than through a callback.
		var b []byte
		mem, b = newRequestMemory(r.ContentLength, contentType)
		if whole != nil {
			*whole = b // a body that fails to read is zeroed too
		}
		buf, err = readDeclared(r, b, limit)
	default:
		buf, err = readChunked(r.Body, limit, func(n int64) []byte {
			var b []byte
			mem, b = newRequestMemory(n, contentType)
			return b
		})
	}
	if err != nil {
		return Fields{}, nil, err
	}
	if whole != nil && buf != nil {
		*whole = buf
	}
	body := buf
	if buf != nil {
		mem.replay.orig = r.Body
		mem.replay.Reset(buf)
		r.Body = &mem.replay
		rd.list = mem.fields[:0]
		rd.setBody(buf)
		// The spare capacity holds decoded values: the caller's slice ends
		// with the body.
		body = buf[:len(buf):len(buf)]
	}
	if err := checkTrailers(r.Trailer); err != nil {
		return Fields{}, body, err
	}
	if len(ct) > 1 {
		return Fields{}, body, newError(rd.spec.UnsupportedStatus, ReasonUnsupportedMediaType,
			"request has more than one Content-Type header")
	}
	if err := checkConnection(r.Header); err != nil {
		return Fields{}, body, err
	}
	var query url.Values
	if r.URL != nil && r.URL.RawQuery != "" {
		query, err = url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return Fields{}, body, malformed(ReasonMalformedQuery, "query string does not parse")
		}
	}
	f, err := rd.parse(contentType, query)
	if err != nil {
		return Fields{}, body, err
	}
	if err := checkCookies(r, &f, &rd.spec); err != nil {
		return Fields{}, body, err
	}
	return f, body, nil
}

// checkCookies refuses a cookie named like a guarded field (or like one
// after a framework's name normalisation) whose value is not the one the
// guard read from the body or the query string, or that stands in for a
// guarded field other than the user that the request does not carry (an
// operation's amount): PHP's $_REQUEST takes cookies after the body when
// request_order is unset (its built-in default), and ASP.NET's
// Request[...] falls back to cookies, so such a portal would read the
// cookie. A cookie that says the same (a "remember my user name" cookie)
// passes. PHP decodes cookie values like form values, so both spellings
// count as the same.
func checkCookies(r *http.Request, f *Fields, spec *Spec) error {
	lines := r.Header["Cookie"]
	if len(lines) == 0 || !readTrackedField(f, spec) && len(spec.UniqueFields) == 0 {
		// Only the user the guard read can be contradicted, and a route
		// with other guarded fields can have them stood in for (see
		// checkCookie): a logout or a request without a body skips the
		// scan.
		return nil
	}
	for name, value := range cookiePairs(lines) {
		if err := checkCookie(name, value, f, spec); err != nil {
			return err
		}
	}
	return nil
}

// cookiePairs yields the name and value of each pair of the Cookie lines
// (blanks around both trimmed, and the value's quotes), split leniently:
// Go's parser skips names it finds invalid ("username[]"), PHP's reads
// them; older parsers split on ','. Both separators are ASCII, so a byte
// scan finds them whatever the rest of the line holds (no UTF-8 sequence
// contains them). Empty pairs are skipped.
func cookiePairs(lines []string) iter.Seq2[string, string] {
	return func(yield func(name, value string) bool) {
		for _, line := range lines {
			for line != "" {
				pair := line
				if i := indexCookieSeparator(line); i >= 0 {
					pair, line = line[:i], line[i+1:]
				} else {
					line = ""
				}
				if pair == "" {
					continue
				}
				name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if !yield(strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)) {
					return
				}
			}
		}
	}
}

// indexCookieSeparator is the index of the first ';' or ',' in s, or -1.
func indexCookieSeparator(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ';' || c == ',' {
			return i
		}
	}
	return -1
}

// readTrackedField reports whether the guard read a field checkCookie
// compares cookies with (a tracked field other than the device payload).
func readTrackedField(f *Fields, spec *Spec) bool {
	for i := range spec.trackedCount() {
		if i == 1 {
			continue
		}
		if _, ok := f.Get(spec.tracked(i)); ok {
			return true
		}
	}
	return false
}

func checkCookie(name, value string, f *Fields, spec *Spec) error {
	// The first byte of the name's keys, when the name is ASCII: keys
	// that overlap start with the same byte, so most cookie names are
	// told apart from the guarded ones without building their keys
	// (which allocates for a name such as PHPSESSID).
	ns, nestedOK := keyStart(name, true)
	us, plainOK := keyStart(name, false)
	var nk, nu string
	keyed := false
	for i := range spec.trackedCount() {
		if i == 1 {
			continue // the device payload is the guard's to read, not the portal's
		}
		g := spec.tracked(i)
		v, ok := f.Get(g)
		if !ok && i == 0 {
			// A request without a user is missing_user's business.
			continue
		}
		gn, gu := nameKey(g, true), nameKey(g, false)
		if nestedOK && plainOK && !mayOverlap(ns, gn) && !mayOverlap(us, gu) {
			continue
		}
		if !keyed {
			nk, nu, keyed = nameKey(name, true), nameKey(name, false), true
		}
		if !keysOverlap(nk, gn) && !keysOverlap(nu, gu) {
			continue
		}
		if !ok {
			// A field the guard judged absent (an operation's amount,
			// say) that the portal would read from the cookie.
			return fieldError(ReasonCookieConflict, g, "a cookie some frameworks read as field %q stands in for it")
		}
		if decoded, err := url.QueryUnescape(value); value == v || err == nil && decoded == v {
			continue
		}
		return fieldError(ReasonCookieConflict, g, "a cookie some frameworks read as field %q says otherwise")
	}
	return nil
}

// keyStart is the first byte of nameKey(name, nested), 0 if that key is
// empty, for an ASCII name (ok false otherwise). It follows nameKey's
// rules: cut at a NUL, ignorable characters trimmed, leading separators
// skipped when nested, ' ', '.' and '[' read as '_', letters folded.
func keyStart(name string, nested bool) (start byte, ok bool) {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return 0, false
		}
	}
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimFunc(name, ignorableInName)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case nested && (c == '[' || c == ']' || c == '.'):
			continue
		case c == ' ' || c == '.' || c == '[':
			return '_', true
		}
		return byte(keyRune(rune(c))), true
	}
	return 0, true
}

// mayOverlap reports whether a key starting with start (0: the empty key)
// could overlap the key k (keysOverlap): two keys that overlap are both
// empty or share their first byte (a key never starts with a NUL).
func mayOverlap(start byte, k string) bool {
	if start == 0 || k == "" {
		return start == 0 && k == ""
	}
	return k[0] == start
}
