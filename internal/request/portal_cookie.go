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
// A value like ASP.NET's chunked cookies' "chunks-3", the same for every
// session, identifies none: it does not count either.
func PortalCookie(r *http.Request, name string) (string, bool) {
	var value string
	exact := 0
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			n, v, ok := strings.Cut(part, "=")
			if !ok || textproto.TrimString(n) != name {
				continue
			}
			v = textproto.TrimString(v)
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if exact > 0 && v != value {
				return "", false
			}
			value = v
			exact++
		}
	}
	if exact == 0 || value == "" || chunkedCookieValue(value) {
		return "", false
	}
	if portalMentions(r.Header["Cookie"], name) != exact {
		return "", false
	}
	return value, true
}

// portalMentions counts the places in the Cookie lines where some portal's
// parser could find a cookie called name: the name, folded as the loosest
// parser would read it (foldCookieText), not inside a longer name (only
// separators, spaces or nothing before it) and followed by "=" (after
// spaces, if any). Counting loosely only makes the guard refuse more.
func portalMentions(lines []string, name string) int {
	want := foldCookieText(name)
	n := 0
	for _, line := range lines {
		text := foldCookieText(line)
		for i := 0; ; {
			j := strings.Index(text[i:], want)
			if j < 0 {
				break
			}
			at, end := i+j, i+j+len(want)
			i = at + 1
			if startsName(text, at) && endsName(text, end) {
				n++
			}
		}
	}
	return n
}

// startsName: what comes before text[at] is nothing, or a separator, once
// the blanks (folded to _) before it are skipped: the name found is not
// the end of a longer one.
func startsName(text string, at int) bool {
	k := at - 1
	for k >= 0 && text[k] == '_' {
		k--
	}
	return k < 0 || !isNameByte(text[k])
}

// endsName: "=" follows text[:end], once the blanks after it are skipped.
func endsName(text string, end int) bool {
	for end < len(text) && text[end] == '_' {
		end++
	}
	return end < len(text) && text[end] == '='
}

// isNameByte is a letter or digit (of folded text): a name running on.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// foldCookieText reads s as the loosest of the portals' cookie parsers
// could: %XX decoded, ASCII letters lower case, and spaces (ASCII and
// Unicode: every byte from 0x80 up, since Werkzeug reads bytes as
// Latin-1), control bytes, '+', '.' and '[' as '_'.
func foldCookieText(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c <= ' ' || c >= 0x7f || c == '+' || c == '.' || c == '[':
			c = '_'
		}
		b = append(b, c)
	}
	return string(b)
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
