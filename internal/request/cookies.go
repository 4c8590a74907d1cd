package request

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/login-guard/login_guard/caddymodule/app"
)

// Step-up cookies. Over TLS each is a __Host- cookie (Secure, Path=/, no
// Domain: no sibling subdomain can plant or read it); over plain http (a
// test or a demo on localhost, where browsers refuse Secure cookies from
// http) the same name without the prefix. The state cookie for a step_up
// on another host is __Secure- with the configured Domain instead.
const (
	CookieState    = "login_guard_stepup"   // the step-up state
	CookieFactor   = "login_guard_factor"   // the factor passed, for the completion
	CookieContinue = "login_guard_continue" // one-time continuation after completion
	CookiePass     = "login_guard_pass"     // one-time resubmit pass
	CookieCeremony = "login_guard_ceremony" // passkey ceremony id
	CookieEnrol    = "login_guard_enrol"    // admin enrolment link token
	CookieEnrolled = "login_guard_enrolled" // shows the enrolment confirmation once
	CookieConfirm  = "login_guard_confirm"  // an existing passkey confirmed adding another
	CookieSelfie   = "login_guard_selfie"   // the Smile ID job bound to the state
)

// StepCookie builds a step-up cookie. SameSite=Strict: every step of the
// flow is a same-site navigation or fetch, and a cross-site page must not
// be able to drive it.
func StepCookie(r *http.Request, base, value string, maxAge time.Duration, domain string) *http.Cookie {
	return GuardCookie(r, base, value, maxAge, domain, http.SameSiteStrictMode)
}

// GuardCookie builds every cookie the guard sets: HttpOnly, Path=/, Secure
// and __Host- (or __Secure- with a Domain) over TLS, the bare name over
// plain http; a negative maxAge deletes it.
func GuardCookie(r *http.Request, base, value string, maxAge time.Duration, domain string, sameSite http.SameSite) *http.Cookie {
	c := &http.Cookie{
		Name:     base,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: sameSite,
		MaxAge:   int(maxAge / time.Second),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	switch {
	case domain != "":
		c.Domain = domain
		if r.TLS != nil {
			c.Name = "__Secure-" + base
		}
	case r.TLS != nil:
		c.Name = "__Host-" + base
	}
	return c
}

// SetStepCookie adds a host-only step-up cookie to hdr.
func SetStepCookie(hdr http.Header, r *http.Request, base, value string, maxAge time.Duration) {
	hdr.Add("Set-Cookie", GuardCookieLine(r, base, value, maxAge, http.SameSiteStrictMode))
}

// ClearStepCookie deletes a host-only step-up cookie.
func ClearStepCookie(hdr http.Header, r *http.Request, base string) {
	hdr.Add("Set-Cookie", GuardCookieLine(r, base, "", -1, http.SameSiteStrictMode))
}

// SetSharedStepCookie adds a step-up cookie under domain, the cookie
// domain a login's host and its step-up's share (step_up_cookie_domain);
// host-only when domain is empty.
func SetSharedStepCookie(hdr http.Header, r *http.Request, base, value string, maxAge time.Duration, domain string) {
	if domain == "" {
		SetStepCookie(hdr, r, base, value, maxAge)
		return
	}
	hdr.Add("Set-Cookie", StepCookie(r, base, value, maxAge, domain).String())
}

// ClearSharedStepCookie deletes a step-up cookie host-only and, with a
// domain, the one set under it (a deletion must name the cookie's
// Domain, or the browser keeps it).
func ClearSharedStepCookie(hdr http.Header, r *http.Request, base, domain string) {
	ClearStepCookie(hdr, r, base)
	if domain != "" {
		hdr.Add("Set-Cookie", StepCookie(r, base, "", -1, domain).String())
	}
}

// GuardCookieLine is GuardCookie(r, base, value, maxAge, "",
// sameSite).String() built in one allocation. A value the fast path cannot
// vouch for (one net/http would quote or sanitise) takes net/http's path.
func GuardCookieLine(r *http.Request, base, value string, maxAge time.Duration, sameSite http.SameSite) string {
	if !plainCookieValue(value) {
		return GuardCookie(r, base, value, maxAge, "", sameSite).String()
	}
	b := make([]byte, 0, len(base)+len(value)+80)
	b = AppendCookieName(b, r, base)
	b = append(b, value...)
	return string(AppendCookieAttrs(b, r, maxAge, sameSite))
}

// AppendCookieName appends the name GuardCookie gives base when no Domain
// is set, and the '='.
func AppendCookieName(b []byte, r *http.Request, base string) []byte {
	if r.TLS != nil {
		b = append(b, "__Host-"...)
	}
	b = append(b, base...)
	return append(b, '=')
}

// AppendCookieAttrs appends what net/http's Cookie.String writes after
// the value of a GuardCookie with no Domain.
func AppendCookieAttrs(b []byte, r *http.Request, maxAge time.Duration, sameSite http.SameSite) []byte {
	b = append(b, "; Path=/"...)
	switch secs := int64(maxAge / time.Second); {
	case maxAge < 0:
		b = append(b, "; Max-Age=0"...)
	case secs > 0:
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, secs, 10)
	}
	b = append(b, "; HttpOnly"...)
	if r.TLS != nil {
		b = append(b, "; Secure"...)
	}
	switch sameSite {
	case http.SameSiteLaxMode:
		b = append(b, "; SameSite=Lax"...)
	case http.SameSiteStrictMode:
		b = append(b, "; SameSite=Strict"...)
	case http.SameSiteNoneMode:
		b = append(b, "; SameSite=None"...)
	}
	return b
}

// plainCookieValue reports whether net/http writes value as it is: every
// byte a cookie-octet (RFC 6265), and no space or comma, which it would
// quote. Tokens (base64url) and the guard's ids always are.
func plainCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

// ReadStepCookie finds a step-up cookie under the name the guard gives
// it without a Domain: over TLS the __Host- name only, since a plain
// cookie could have been planted over http or by a sibling host, and
// __Host- cookies only a host can set for itself; over http the bare
// name. What a step-up on another host shares under a Domain is read by
// ReadSharedStepCookie (the state, on the step-up route) and
// ReadLoginStepCookie (the continuation and the pass, on the login
// route), only where the route shares that domain.
func ReadStepCookie(r *http.Request, base string) string {
	if r.TLS == nil {
		v, _ := requestCookie(r, base)
		return v
	}
	v, _ := requestCookie(r, "__Host-"+base)
	return v
}

// ReadLoginStepCookie is the continuation or the pass on a login route:
// its own __Host- cookie, or, when the route sends to a step-up on
// another host under sharedDomain (its step_up_cookie_domain), the
// __Secure- one that step-up set there. A route that shares no domain
// reads no __Secure- cookie: a sibling host could have planted it.
func ReadLoginStepCookie(r *http.Request, base, sharedDomain string) string {
	if v := ReadStepCookie(r, base); v != "" || sharedDomain == "" {
		return v
	}
	return ReadSharedStepCookie(r, base)
}

// ReadSharedStepCookie finds a step-up cookie under the name the guard
// gives it with a Domain (SetSharedStepCookie, the state cookie of a
// step-up on another host): __Secure- over TLS. Any host under that
// domain can set such a cookie, so what it carries counts only where the
// guard would have set it there: the caller checks that the token
// records the shared domain. Over http nothing is shared (a step-up on
// another host needs https): "".
func ReadSharedStepCookie(r *http.Request, base string) string {
	if r.TLS == nil {
		return ""
	}
	v, _ := requestCookie(r, "__Secure-"+base)
	return v
}

// IsStepCookie reports whether a request cookie is one of the guard's
// step-up cookies, which a replayed login must not carry to the upstream.
func IsStepCookie(name string) bool {
	for _, base := range []string{CookieState, CookieFactor, CookieContinue, CookiePass, CookieCeremony, CookieEnrol, CookieConfirm, CookieSelfie} {
		if name == base || name == "__Host-"+base || name == "__Secure-"+base {
			return true
		}
	}
	return false
}

// The guard's session cookie. Over TLS the __Host- prefix makes browsers
// refuse it unless it is Secure, host-only and Path=/: no sibling
// subdomain can plant one.
const (
	secureSessionCookie = "__Host-login_guard"
	PlainSessionCookie  = "login_guard"
)

// SessionCookieName is the session cookie's name on this connection.
func SessionCookieName(r *http.Request) string {
	if r.TLS != nil {
		return secureSessionCookie
	}
	return PlainSessionCookie
}

// LoadSession reads the guard's session cookie, if a valid one (and not
// revoked by its logout) is present.
func (x *Exchange) LoadSession(r *http.Request) {
	tok, found := requestCookie(r, SessionCookieName(r))
	if !found {
		return
	}
	var s app.Session
	var exp time.Time
	var ok bool
	if x.Route.Event == EventLogout {
		s, exp, ok = x.Route.App.OpenEndingSession(x.Ctx, tok, x.Start)
	} else {
		s, exp, ok = x.Route.App.OpenSession(x.Ctx, tok, x.Start)
	}
	if !ok {
		return
	}
	x.Session, x.HasSession, x.SessionExp = s, true, exp
	x.Attempt.Session = s.Session
}

// DropSession judges the request as one without a guard session, the
// session it carried not counted for the reason note (the audit line's
// "session").
func (x *Exchange) DropSession(note string) {
	x.Session, x.HasSession, x.SessionExp = app.Session{}, false, time.Time{}
	x.Attempt.Session = ""
	x.SessionNote = note
}

// requestCookie is r.Cookie(name).Value without parsing every cookie of
// the request into a slice: the first cookie of that name whose value
// net/http would accept, its surrounding quotes removed.
func requestCookie(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		// Every part strings.Split(line, ";") would give, in order.
		for more := true; more; {
			part := line
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				more = false
			}
			part = textproto.TrimString(part)
			n, v, _ := strings.Cut(part, "=")
			if textproto.TrimString(n) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// validCookieValue is net/http's test of a cookie value's bytes.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !cookieValueByte[v[i]] {
			return false
		}
	}
	return true
}

// cookieValueByte is the test of one byte, as a table: the session
// cookie's value is scanned on every guarded request.
var cookieValueByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\'
	}
	return t
}()
