package app

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/metrics"
	"github.com/login-guard/login_guard/internal/repeatlog"
	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/internal/sessioncache"
	"github.com/login-guard/login_guard/internal/tokens"
)

// sessionPurpose binds the session cookie's seal to its use.
const sessionPurpose = "session"

// Session is what the guard's session cookie carries: who logged in and
// the session id sent to SmartID with every later event of that session.
type Session struct {
	User    string `json:"u"`
	Session string `json:"s"`
	// LoginAt (Unix seconds) and Challenged let passkey enrolment tell a
	// recent, unchallenged login from an old or challenged one. A login
	// is challenged when it passed a step-up, when a monitor-mode route
	// would have challenged or denied it (and let it through), or when a
	// failure policy let it through unchecked (an engine down, say).
	LoginAt    int64 `json:"t,omitempty"`
	Challenged bool  `json:"c,omitempty"`
}

// AppendBinary is the session's form inside its token (tokens.Keyset
// seals a BinaryAppender without reflection): a format byte, the lengths
// of user and session id, both strings, LoginAt and a flags byte.
func (s Session) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, sessionFormat)
	b = binary.AppendUvarint(b, uint64(len(s.User)))
	b = binary.AppendUvarint(b, uint64(len(s.Session)))
	b = append(b, s.User...)
	b = append(b, s.Session...)
	b = binary.AppendVarint(b, s.LoginAt)
	var flags byte
	if s.Challenged {
		flags |= 1
	}
	return append(b, flags), nil
}

const sessionFormat = 1

// cached is s as the session cache holds it.
func (s Session) cached() sessioncache.Session {
	return sessioncache.Session{User: s.User, ID: s.Session, LoginAt: s.LoginAt, Challenged: s.Challenged}
}

var errSessionFormat = errors.New("malformed session")

// UnmarshalBinary reads what AppendBinary wrote, refusing anything else
// (a short or overlong input, an unknown format or flag). Both strings
// share one allocation.
func (s *Session) UnmarshalBinary(b []byte) error {
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
	*s = Session{User: both[:nu], Session: both[nu:], LoginAt: at, Challenged: b[k]&1 != 0}
	return nil
}

// OpenSession opens a session cookie's value, paying the decryption at
// most once per token (a token this guard sealed, or opened before, is
// served from the session cache while it is valid), and says until when
// the session lasts. A session its logout ended is no session, whatever
// the cookie says; a revocation store that cannot answer counts as
// revoked (fail closed), but for OpenEndingSession.
func (a *App) OpenSession(ctx context.Context, token string, now time.Time) (s Session, exp time.Time, ok bool) {
	return a.openSession(ctx, token, now, true)
}

// OpenEndingSession is OpenSession for a request that ends the session
// (a logout): a token it had to decrypt is not cached, since once the
// logout is accepted the entry would only ever be read as revoked, and a
// session whose revocation cannot be checked (the store is down) is
// still the session, so that its logout is recorded.
func (a *App) OpenEndingSession(ctx context.Context, token string, now time.Time) (s Session, exp time.Time, ok bool) {
	return a.openSession(ctx, token, now, false)
}

func (a *App) openSession(ctx context.Context, token string, now time.Time, keep bool) (s Session, exp time.Time, ok bool) {
	ks := a.Keyset()
	if ks == nil {
		return Session{}, time.Time{}, false
	}
	cache := a.rt.sessions
	var hit sessioncache.Session
	if hit, exp, ok = cache.Get(ks, token, now); ok {
		s = Session{User: hit.User, Session: hit.ID, LoginAt: hit.LoginAt, Challenged: hit.Challenged}
	} else {
		// Its own variable: the pointer Open takes makes it escape, and
		// only a cache miss should pay for that.
		var opened Session
		var err error
		exp, err = ks.OpenUntil(sessionPurpose, token, now, &opened)
		if again := a.keysAfterMiss(ctx, ks, err); again != nil {
			ks = again
			exp, err = ks.OpenUntil(sessionPurpose, token, now, &opened)
		}
		if err != nil {
			return Session{}, time.Time{}, false
		}
		if keep {
			cache.PutOpened(ks, token, opened.cached(), exp.Unix(), now)
		}
		s = opened
	}
	revoked, err := a.rt.revoked.Revoked(ctx, s.Session, now)
	if err != nil {
		a.rt.revokeLines.Write(a.logger, now, "unavailable", zap.WarnLevel, "session revocations unavailable", zap.Error(err))
		if keep {
			return Session{}, time.Time{}, false
		}
		// A logout still ends a session it cannot check: ending one that
		// had already ended does no harm, while passing it on as no
		// session would leave its cookie valid once the store answers
		// again (a shared store keeps the revocation it cannot take and
		// sends it later: redisstore.RevokeSet).
		return s, exp, true
	}
	if revoked {
		return Session{}, time.Time{}, false
	}
	if a.rt.revokeLines.Holding() {
		// The store answers again: the lines held back are written now,
		// not with the next outage's first.
		a.rt.revokeLines.Flush(a.logger, now, false)
	}
	return s, exp, true
}

// RevokeSession ends a guard session (its logout was accepted) until it
// would have expired: its cookie, if replayed, no longer counts. now is
// the request's clock.
func (a *App) RevokeSession(ctx context.Context, id string, until, now time.Time) error {
	return a.rt.revoked.Revoke(ctx, id, until, now)
}

// AppendSealSession appends s, sealed for the session cookie, to b and
// says how long the session lasts. The token is also put in the session
// cache, so the session's logout and operations open it without
// decrypting.
func (a *App) AppendSealSession(b []byte, s Session, now time.Time) ([]byte, time.Duration, error) {
	ks := a.Keyset()
	if ks == nil {
		return b, 0, ErrNotStarted
	}
	ttl := time.Duration(a.Session.TTL)
	start := len(b)
	b, err := ks.AppendSeal(b, sessionPurpose, s, now, ttl)
	if err != nil {
		return b, ttl, err
	}
	// The expiry the token carries (AppendSeal's, in Unix seconds).
	a.rt.sessions.PutSealed(ks, b[start:], s.cached(), now.Add(ttl).Unix(), now)
	return b, ttl, nil
}

// Standalone returns an app as Start leaves it, with the given keys and
// nothing outside the process (no SmartID, no storage): for handlers run
// without a Caddy config, as benchmarks and unit tests do. Stop and
// Cleanup release what it took.
func Standalone(keys *tokens.Keyset, sessionTTL time.Duration) *App {
	a := &App{Session: &SessionConfig{TTL: caddy.Duration(sessionTTL)}, logger: zap.NewNop()}
	a.rt = &appRuntime{life: newLifecycle(), keys: keys, revoked: revoke.NewMemory(revoke.DefaultMax), revokeLines: repeatlog.New(revokeLogEvery)}
	a.rt.sessions = sessioncache.New()
	a.routes = newRouteRegistry()
	a.stepRT = new(StepUpRuntime)
	a.StepUp = new(StepUpTuning)
	if err := a.StepUp.provision(); err != nil {
		panic(err) // the defaults are valid
	}
	if _, err := a.takeStepUp(); err != nil {
		panic(err) // only the in-memory store is taken, which cannot fail
	}
	a.rt.life.markStarted()
	return a
}

// CountIn gives a standalone app the guard's collectors, registered in
// reg, so what is measured without a Caddy config pays for its metrics as
// in production.
func (a *App) CountIn(reg *prometheus.Registry) error {
	m := metrics.New()
	if err := m.RegisterIn(reg); err != nil {
		return err
	}
	a.metrics = m
	return nil
}

// SendSmartIDThrough gives a standalone app a SmartID client, so what is
// measured without a Caddy config queues and delivers events as in
// production.
func (a *App) SendSmartIDThrough(c *smartid.Client, label string) {
	a.smartid = &SmartIDQueue{Client: c, drain: time.Second, Label: label}
}
