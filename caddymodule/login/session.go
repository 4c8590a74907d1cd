package login

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/rules"
)

// revokeSession ends the guard session this request carried (its logout
// was accepted): the cookie, if replayed, no longer counts until it
// expires.
func (x *exchange) revokeSession() {
	if !x.HasSession {
		return
	}
	if err := x.h.app.RevokeSession(x.Detached(), x.Session.Session, x.SessionExp, x.Start); err != nil {
		level := zap.ErrorLevel
		if errors.Is(err, revoke.ErrKept) {
			level = zap.WarnLevel // recorded later; nothing to do
		}
		x.h.logger.Log(level, "revoking the guard session", zap.String("route", x.h.Name), zap.Error(err))
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
func (x *exchange) setSessionCookie(r *http.Request, hdr http.Header, s app.Session) error {
	// A monitor-mode route's would-be challenge counts: whoever typed the
	// password of a login that risky must not enrol a passkey with it. So
	// does a login passed only because a check could not be made.
	s.LoginAt, s.Challenged = x.Start.Unix(), x.steppedUp() || x.MonitorAction != "" || x.passedUnchecked()
	// The token is sealed straight into the Set-Cookie line (what
	// request.GuardCookie(...).String() would write: a token needs no quoting).
	// SameSite=Lax: the portal's own links must still carry the session.
	b := make([]byte, 0, 384)
	b = request.AppendCookieName(b, r, request.PlainSessionCookie)
	b, ttl, err := x.h.app.AppendSealSession(b, s, x.Start)
	if err != nil {
		return err
	}
	hdr.Add("Set-Cookie", string(request.AppendCookieAttrs(b, r, ttl, http.SameSiteLaxMode)))
	return nil
}

// passedUnchecked reports whether the verdict holds a reason that says a
// check could not be made and the route's failure policy let the login
// through: an engine down, late or not reviewing, the counters' store unreachable or
// full, a rule that failed, a LoginID token that could not be verified.
// Such a login was never vetted; its session must not vouch for anything
// (passkey enrolment).
func (x *exchange) passedUnchecked() bool {
	for _, r := range x.Verdict.Reasons {
		switch r {
		case rules.ReasonEngineUnavailable, rules.ReasonEngineNotReviewed, rules.ReasonStoreUnavailable,
			rules.ReasonStoreFull, rules.ReasonRuleError, reasonAssertionUnverifiable:
			return true
		}
	}
	return false
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
	clearSessionLine       = request.GuardCookieLine(&http.Request{}, request.PlainSessionCookie, "", -1, http.SameSiteLaxMode)
	clearSecureSessionLine = request.GuardCookieLine(&http.Request{TLS: &tls.ConnectionState{}}, request.PlainSessionCookie, "", -1, http.SameSiteLaxMode)
)

// smartIDSession is the guard session's id for a new login, also the
// session sent to SmartID: with session_cookie, the pseudonym of the
// portal's own session cookie (portalSessionID: SmartID and the portal
// then speak of the same session without the raw token ever leaving, and
// the guard session is bound to that portal session), else a random id.
func (x *exchange) smartIDSession(r *http.Request, hdr http.Header) string {
	if id := x.portalSessionID(r, hdr); id != "" {
		return id
	}
	return newSessionID()
}
