package request

import (
	"net/http"
	"net/textproto"
	"strings"
)

// PortalCookie is the value of the portal's cookie name in r, and whether
// it is the one value every portal framework could read under that name.
//
// Portals read cookies their own ways, and the guard must not check one
// session while the portal acts on another: Django and ASP.NET keep the
// last of two cookies of a name, Express, Rack and Werkzeug the first;
// Django, Werkzeug and older Express trim Unicode spaces (U+00A0, U+3000)
// from names; ASP.NET splits cookies on commas too and skips bytes it
// cannot read; Tomcat splits on commas after `$Version=1`; PHP decodes
// names (%5F is _, + a space) and turns spaces, dots and brackets into
// underscores. So the value counts only when the cookie is given as
// name=value, the same value each time, and the header names it nowhere
// else in a way any of those parsers could read (portalMentions).
//
// The value itself must read alike too (readAlikeValue): the guard's
// value is the bytes between "=" and ";", and every portal must read what
// it reads from a lone name=value cookie, or one guard session would be
// two portal sessions. Quotes are the value's to Rack and PHP, not to
// Django, Werkzeug, the cookie package, Tomcat or Go, so name="v" is
// refused, not read as v; blanks around the value are kept by Rack and
// PHP and trimmed by the others (Django and wsgiref trim U+00A0 too);
// bytes from 0x80 up are decoded differently by each. The differential
// test (internal/bodydiff, TestDifferentialPortalCookie) found these.
//
// And the header must be one line. Browsers send one Cookie line, and Go's
// HTTP/2 and HTTP/3 servers join the crumbs they are sent with "; "; the
// servers portals run on join several lines each their own way (PHP's
// built-in server and WEBrick with ", ", wsgiref and gunicorn with ","),
// after which a line's last value runs on into the next line.
//
// A value like ASP.NET's chunked cookies' "chunks-3", the same for every
// session, identifies none: it does not count either.
func PortalCookie(r *http.Request, name string) (string, bool) {
	lines := r.Header["Cookie"]
	if len(lines) != 1 || name == "" {
		return "", false
	}
	var value string
	exact := 0
	for part := range strings.SplitSeq(lines[0], ";") {
		n, v, ok := strings.Cut(part, "=")
		if !ok || textproto.TrimString(n) != name {
			continue
		}
		if !readAlikeValue(v) || exact > 0 && v != value {
			return "", false
		}
		value = v
		exact++
	}
	if exact == 0 || chunkedCookieValue(value) {
		return "", false
	}
	if portalMentions(lines, name) != exact {
		return "", false
	}
	return value, true
}

// readAlikeValue: v is not empty and every byte of it is printable ASCII
// other than a space, a quote or a backslash: bytes no portal trims,
// unquotes or reads in a charset of its own. That is RFC 6265's
// cookie-octet and ',' (unlike plainCookieValue, what net/http writes
// unquoted): PHP's session ids may hold commas, and a portal that splits
// on them reads name=a,b alone as it reads it among other cookies. Session
// ids are hex, base64 or URL-encoded: they are such.
func readAlikeValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// portalMentions counts the places in the Cookie lines where some portal's
// parser could find a cookie called name: the name, folded as the loosest
// parser would read it (foldCookieText), where a name can start
// (startsName) and followed by "=" or PHP's "[" (endsName). Counting
// loosely only makes the guard refuse more.
func portalMentions(lines []string, name string) int {
	want := foldCookieText(name).text
	n := 0
	for _, line := range lines {
		f := foldCookieText(line)
		for i := 0; ; {
			j := strings.Index(f.text[i:], want)
			if j < 0 {
				break
			}
			at, end := i+j, i+j+len(want)
			i = at + 1
			if f.startsName(at) && f.endsName(end) {
				n++
			}
		}
	}
	return n
}

// startsName: some parser could start a cookie name at text[at]. Before
// it, once the blanks are skipped, is the line's start or a separator (';',
// ',', '=', or a quote or backslash, after which ASP.NET looks for the next
// cookie); or one of the blanks skipped is a byte a parser trims or skips
// (a space, a control byte, a byte from 0x80 up: Django and Werkzeug trim
// Unicode spaces, ASP.NET skips what it cannot read). A name byte before
// it, a letter, a digit or any other token byte ('-' in XSRF-TOKEN, '/'
// or '?' of a URL in a value), makes it the end of something longer.
func (f *foldedCookies) startsName(at int) bool {
	k := at - 1
	for k >= 0 && f.text[k] == '_' {
		if c := f.dec[k]; !f.esc[k] && (c <= ' ' || c >= 0x7f) {
			return true
		}
		k--
	}
	if k < 0 {
		return true
	}
	switch f.text[k] {
	case ';', ',', '=', '"', '\\':
		return true
	}
	return false
}

// endsName: "=" follows text[:end], once the blanks after it are skipped,
// or "[": PHP reads name[x]=... as the cookie name, an array.
func (f *foldedCookies) endsName(end int) bool {
	if end < len(f.text) && f.dec[end] == '[' {
		return true
	}
	for end < len(f.text) && f.text[end] == '_' {
		end++
	}
	return end < len(f.text) && f.text[end] == '='
}

// foldedCookies is Cookie text folded by foldCookieText, with what each of
// its bytes was: the byte after %XX decoding (dec), and whether it was
// escaped (esc), since an escaped blank is no byte a parser skips.
type foldedCookies struct {
	text string
	dec  []byte
	esc  []bool
}

// foldCookieText reads s as the loosest of the portals' cookie parsers
// could: %XX decoded, ASCII letters lower case, and spaces (ASCII and
// Unicode: every byte from 0x80 up, since Werkzeug reads bytes as
// Latin-1), control bytes, '+', '.' and '[' as '_'.
func foldCookieText(s string) foldedCookies {
	f := foldedCookies{dec: make([]byte, 0, len(s)), esc: make([]bool, 0, len(s))}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c, escaped := s[i], false
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c, escaped = unhex(s[i+1])<<4|unhex(s[i+2]), true
			i += 2
		}
		f.dec, f.esc = append(f.dec, c), append(f.esc, escaped)
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c <= ' ' || c >= 0x7f || c == '+' || c == '.' || c == '[':
			c = '_'
		}
		b = append(b, c)
	}
	f.text = string(b)
	return f
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// chunkedCookieValue is ASP.NET's ChunkingCookieManager's stand-in value
// ("chunks-N"): the session is in the name's C1, C2... cookies.
func chunkedCookieValue(v string) bool {
	n, ok := strings.CutPrefix(v, "chunks-")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}
