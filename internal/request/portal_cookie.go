package request

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// PortalCookie is the value of the portal's cookie name in r, and whether
// it is the one value the portal can read under that name. Portals read
// cookies their own ways: Django keeps the last of two cookies of a name,
// Express and Rack the first, PHP decodes names (%5F is _) and turns
// spaces, dots and brackets into underscores. A second cookie that any of
// them could read as name, with another value, makes the request
// ambiguous: the guard could check one session while the portal acts on
// the other.
func PortalCookie(r *http.Request, name string) (string, bool) {
	want := looseCookieName(name)
	var value string
	found := false
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			n, v, _ := strings.Cut(part, "=")
			if looseCookieName(n) != want {
				continue
			}
			v = textproto.TrimString(v)
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if found && v != value {
				return "", false
			}
			if !found && textproto.TrimString(n) != name {
				// Only a look-alike name: a portal might read it as the
				// cookie, and the guard would not.
				return "", false
			}
			value, found = v, true
		}
	}
	return value, found && value != ""
}

// looseCookieName is a cookie name as the loosest of the portals' parsers
// could read it: trimmed, percent-decoded, spaces, dots and brackets as
// underscores, case folded. Matching loosely only ever makes the guard
// refuse more, never read a cookie the portal would not.
func looseCookieName(n string) string {
	n = textproto.TrimString(n)
	if strings.IndexByte(n, '%') >= 0 {
		if d, err := url.PathUnescape(n); err == nil {
			n = d
		}
	}
	n = strings.Map(func(c rune) rune {
		switch c {
		case ' ', '.', '[':
			return '_'
		}
		return c
	}, n)
	return strings.ToLower(n)
}
