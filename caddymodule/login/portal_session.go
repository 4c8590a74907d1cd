package login

import (
	"net/http"

	"github.com/login-guard/login_guard/internal/request"
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
		if v, ok = request.PortalCookie(r, name); !ok {
			return ""
		}
	}
	return ks.Pseudonym("app_session", v)
}

// loadSession reads the guard session r carries, as the route counts it:
// request.LoadSession, then keepPortalSession. Every place that reads the
// session goes through it, the replay after a step-up included, so none
// can count a guard session beside another portal session.
func (x *exchange) loadSession(r *http.Request) {
	x.LoadSession(r)
	x.keepPortalSession(r)
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
	if v, ok := request.PortalCookie(r, name); ok {
		if ks := x.h.app.Keyset(); ks != nil && ks.Pseudonym("app_session", v) == x.Session.Session {
			return
		}
	}
	x.DropSession(auditForeignSession)
}
