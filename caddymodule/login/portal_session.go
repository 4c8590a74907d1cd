package login

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// The guard session belongs to the portal session it was issued beside.
//
// A login the guard passes gets a guard cookie naming its user. On an
// operation the portal acts on its own session cookie, not on the guard's:
// someone holding a victim's portal session (stolen, or fixed before the
// login) could add their own guard cookie, from a login of their own, and
// the step-up of the transfer would ask them, not the victim. With
// `session_cookie <name>` the guard session's id is a keyed pseudonym of
// that portal cookie (see portalSessionID), so a route that is not a
// login counts the guard session only when the request's portal cookie is
// the one it was issued with.

// auditForeignSession is the audit line's session note for a guard
// session that was not counted: the request's portal session is not the
// one it was issued with.
const auditForeignSession = "not_the_portal_session"

// portalSessionID is the guard session id of a login the upstream
// accepted, with hdr its answer's headers: the pseudonym of the portal's
// session cookie (the one its answer sets, or else the one the login
// carried, for a portal that keeps its session across the login), or ""
// when there is none (no session_cookie, no keys, no such cookie).
func (x *exchange) portalSessionID(r *http.Request, hdr http.Header) string {
	name := x.h.SessionCookie
	if name == "" {
		return ""
	}
	ks := x.h.app.Keyset()
	if ks == nil {
		return ""
	}
	v := setCookieValue(hdr, name)
	if v == "" {
		var ok bool
		if v, ok = portalCookie(r, name); !ok {
			return ""
		}
	}
	return ks.Pseudonym("app_session", v)
}

// keepPortalSession drops the guard session of an operation (or an
// `event none` request) when its portal session is not the one the guard
// session was issued beside (session_cookie set), or is ambiguous: the
// request is then judged as one without a guard session (an operation's
// step-up refused with step_up_no_session), and the audit line says why.
// A logout keeps it: ending the guard session it carries harms nobody,
// and a portal that renewed its cookie must still end the guard's.
func (x *exchange) keepPortalSession(r *http.Request) {
	name := x.h.SessionCookie
	if name == "" || !x.HasSession || (x.h.Event != EventOperation && x.h.Event != EventNone) {
		return
	}
	if v, ok := portalCookie(r, name); ok {
		if ks := x.h.app.Keyset(); ks != nil && ks.Pseudonym("app_session", v) == x.Session.Session {
			return
		}
	}
	x.DropSession(auditForeignSession)
}

// portalCookie is the value of the portal's cookie name in r, and whether
// it is the one value the portal can read under that name. Portals read
// cookies their own ways: Django keeps the last of two cookies of a name,
// Express and Rack the first, PHP decodes names (%5F is _) and turns
// spaces, dots and brackets into underscores. A second cookie that any of
// them could read as name, with another value, makes the request
// ambiguous: the guard could check one session while the portal acts on
// the other.
func portalCookie(r *http.Request, name string) (string, bool) {
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
