package caddymodule

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
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

// AppendBinary is the session's form inside its token (tokens.Keyset
// seals a BinaryAppender without reflection): a format byte, the lengths
// of user and session id, both strings, LoginAt and a flags byte.
func (s guardSession) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, sessionFormat)
	b = binary.AppendUvarint(b, uint64(len(s.User)))
	b = binary.AppendUvarint(b, uint64(len(s.Session)))
	b = append(b, s.User...)
	b = append(b, s.Session...)
	b = binary.AppendVarint(b, s.LoginAt)
	var flags byte
	if s.SteppedUp {
		flags |= 1
	}
	return append(b, flags), nil
}

const sessionFormat = 1

var errSessionFormat = errors.New("malformed session")

// UnmarshalBinary reads what AppendBinary wrote, refusing anything else
// (a short or overlong input, an unknown format or flag). Both strings
// share one allocation.
func (s *guardSession) UnmarshalBinary(b []byte) error {
	if len(b) < 1 || b[0] != sessionFormat {
		return errSessionFormat
	}
	b = b[1:]
	nu, k := binary.Uvarint(b)
	if k <= 0 {
		return errSessionFormat
	}
	b = b[k:]
	ns, k := binary.Uvarint(b)
	if k <= 0 {
		return errSessionFormat
	}
	b = b[k:]
	if nu > uint64(len(b)) || ns > uint64(len(b))-nu {
		return errSessionFormat
	}
	both := string(b[:nu+ns])
	b = b[nu+ns:]
	at, k := binary.Varint(b)
	if k <= 0 || len(b) != k+1 || b[k]&^1 != 0 {
		return errSessionFormat
	}
	*s = guardSession{User: both[:nu], Session: both[nu:], LoginAt: at, SteppedUp: b[k]&1 != 0}
	return nil
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
	tok, found := requestCookie(r, sessionCookieName(r))
	if !found {
		return
	}
	cache := x.h.app.rt.sessions
	s, exp, ok := cache.get(tok, x.start)
	if !ok {
		// Its own variable: the pointer Open takes makes it escape, and
		// only a cache miss should pay for that.
		var opened guardSession
		var err error
		exp, err = ks.OpenUntil(sessionPurpose, tok, x.start, &opened)
		if err != nil {
			return
		}
		cache.put(tok, opened, exp, x.start)
		s = opened
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

// requestCookie is r.Cookie(name).Value without parsing every cookie of
// the request into a slice: the first cookie of that name whose value
// net/http would accept, its surrounding quotes removed.
func requestCookie(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
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
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
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
	line := clearSessionLine
	if r.TLS != nil {
		line = clearSecureSessionLine
	}
	hdr.Add("Set-Cookie", line)
}

// The lines that delete the session cookie never change.
var (
	clearSessionLine       = guardCookieLine(&http.Request{}, plainSessionCookie, "", -1, http.SameSiteLaxMode)
	clearSecureSessionLine = guardCookieLine(&http.Request{TLS: &tls.ConnectionState{}}, plainSessionCookie, "", -1, http.SameSiteLaxMode)
)

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
