package caddymodule

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"go.uber.org/zap"
)

const (
	sessionPurpose = "session"
	// The __Host- prefix makes browsers refuse the cookie unless it is
	// Secure, host-only and Path=/: no sibling subdomain can plant one.
	secureSessionCookie = "__Host-login_guard"
	plainSessionCookie  = "login_guard"
)

// guardSession is what the guard's cookie carries: who logged in and the
// session id sent to SmartID with every later event of that session.
type guardSession struct {
	User    string `json:"u"`
	Session string `json:"s"`
	// LoginAt (Unix seconds) and SteppedUp let passkey enrolment tell a
	// recent, unchallenged login from an old or challenged one.
	LoginAt   int64 `json:"t,omitempty"`
	SteppedUp bool  `json:"c,omitempty"`
}

func sessionCookieName(r *http.Request) string {
	if r.TLS != nil {
		return secureSessionCookie
	}
	return plainSessionCookie
}

// loadSession reads the guard cookie, if a valid one is present.
func (x *exchange) loadSession(r *http.Request) {
	ks := x.h.app.keyset()
	if ks == nil {
		return
	}
	c, err := r.Cookie(sessionCookieName(r))
	if err != nil {
		return
	}
	cache := x.h.app.rt.sessions
	s, exp, ok := cache.get(c.Value, x.start)
	if !ok {
		var err error
		exp, err = ks.OpenUntil(sessionPurpose, c.Value, x.start, &s)
		if err != nil {
			return
		}
		cache.put(c.Value, s, exp, x.start)
	}
	// A session its logout ended is no session, whatever the cookie says.
	// A store that cannot answer counts as revoked (fail closed): the
	// request then simply carries no guard session.
	if revoked, err := x.h.app.rt.revoked.Revoked(x.ctx, s.Session, x.start); revoked || err != nil {
		if err != nil {
			x.h.logger.Warn("session revocations unavailable", zap.Error(err))
		}
		return
	}
	x.session, x.hasSess, x.sessionExp = s, true, exp
	x.attempt.Session = s.Session
}

// revokeSession ends the guard session this request carried (its logout
// was accepted): the cookie, if replayed, no longer counts until it
// expires.
func (x *exchange) revokeSession() {
	if !x.hasSess {
		return
	}
	if err := x.h.app.rt.revoked.Revoke(context.WithoutCancel(x.ctx), x.session.Session, x.sessionExp); err != nil {
		x.h.logger.Error("revoking the guard session", zap.String("route", x.h.Name), zap.Error(err))
	}
}

// newSessionID is random, not derived from anything the user controls.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// setSessionCookie issues the guard cookie for a login the upstream
// accepted.
func (x *exchange) setSessionCookie(r *http.Request, hdr http.Header, s guardSession) error {
	ks := x.h.app.keyset()
	if ks == nil {
		return errNotStarted
	}
	ttl := time.Duration(x.h.app.Session.TTL)
	s.LoginAt, s.SteppedUp = x.start.Unix(), x.steppedUp()
	// The token is sealed straight into the Set-Cookie line (what
	// guardCookie(...).String() would write: a token needs no quoting).
	// SameSite=Lax: the portal's own links must still carry the session.
	b := make([]byte, 0, 384)
	b = appendCookieName(b, r, plainSessionCookie)
	b, err := ks.AppendSeal(b, sessionPurpose, s, x.start, ttl)
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
			if ks := x.h.app.keyset(); ks != nil {
				return ks.Pseudonym("app_session", v)
			}
		}
	}
	return newSessionID()
}
