package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/login-guard/login_guard/caddymodule/app"
)

const (
	// The __Host- prefix makes browsers refuse the cookie unless it is
	// Secure, host-only and Path=/: no sibling subdomain can plant one.
	secureSessionCookie = "__Host-login_guard"
	plainSessionCookie  = "login_guard"
)

func sessionCookieName(r *http.Request) string {
	if r.TLS != nil {
		return secureSessionCookie
	}
	return plainSessionCookie
}

// loadSession reads the guard cookie, if a valid one is present.
func (x *exchange) loadSession(r *http.Request) {
	c, err := r.Cookie(sessionCookieName(r))
	if err != nil {
		return
	}
	s, ok := x.h.app.OpenSession(c.Value, x.start)
	if !ok {
		return
	}
	x.session, x.hasSess = s, true
	x.attempt.Session = s.Session
}

// newSessionID is random, not derived from anything the user controls.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// setSessionCookie issues the guard cookie for a login the upstream
// accepted.
func (x *exchange) setSessionCookie(r *http.Request, hdr http.Header, s app.Session) error {
	s.LoginAt, s.SteppedUp = x.start.Unix(), x.steppedUp()
	// The token is sealed straight into the Set-Cookie line (what
	// guardCookie(...).String() would write: a token needs no quoting).
	// SameSite=Lax: the portal's own links must still carry the session.
	b := make([]byte, 0, 384)
	b = appendCookieName(b, r, plainSessionCookie)
	b, ttl, err := x.h.app.AppendSealSession(b, s, x.start)
	if err != nil {
		return err
	}
	hdr.Add("Set-Cookie", string(appendCookieAttrs(b, r, ttl, http.SameSiteLaxMode)))
	return nil
}

func clearSessionCookie(r *http.Request, hdr http.Header) {
	hdr.Add("Set-Cookie", guardCookieLine(r, plainSessionCookie, "", -1, http.SameSiteLaxMode))
}

// smartIDSession is the session id sent to SmartID for a new login: an
// HMAC of the app's own session cookie when configured (so SmartID and the
// app speak of the same session without the raw token ever leaving), else
// the guard's random id.
func (x *exchange) smartIDSession(hdr http.Header) string {
	if name := x.h.SessionCookie; name != "" {
		if v := setCookieValue(hdr, name); v != "" {
			if ks := x.h.app.Keyset(); ks != nil {
				return ks.Pseudonym("app_session", v)
			}
		}
	}
	return newSessionID()
}
