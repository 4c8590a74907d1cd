package app

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/tokens"
)

// sessionPurpose binds the session cookie's seal to its use.
const sessionPurpose = "session"

// Session is what the guard's session cookie carries: who logged in and
// the session id sent to SmartID with every later event of that session.
type Session struct {
	User    string `json:"u"`
	Session string `json:"s"`
	// LoginAt (Unix seconds) and SteppedUp let passkey enrolment tell a
	// recent, unchallenged login from an old or challenged one.
	LoginAt   int64 `json:"t,omitempty"`
	SteppedUp bool  `json:"c,omitempty"`
}

// OpenSession opens a session cookie's value, paying the decryption once
// per token (the cache never holds an entry past its token's expiry).
func (a *App) OpenSession(token string, now time.Time) (Session, bool) {
	ks := a.Keyset()
	if ks == nil {
		return Session{}, false
	}
	cache := a.rt.sessions
	s, ok := cache.get(token, now)
	if !ok {
		exp, err := ks.OpenUntil(sessionPurpose, token, now, &s)
		if err != nil {
			return Session{}, false
		}
		cache.put(token, s, exp, now)
	}
	return s, true
}

// AppendSealSession appends s, sealed for the session cookie, to b and
// says how long the session lasts.
func (a *App) AppendSealSession(b []byte, s Session, now time.Time) ([]byte, time.Duration, error) {
	ks := a.Keyset()
	if ks == nil {
		return b, 0, ErrNotStarted
	}
	ttl := time.Duration(a.Session.TTL)
	b, err := ks.AppendSeal(b, sessionPurpose, s, now, ttl)
	return b, ttl, err
}

// Standalone returns an app as Start leaves it, with the given keys and
// nothing outside the process (no SmartID, no storage): for handlers run
// without a Caddy config, as benchmarks and unit tests do. Stop and
// Cleanup release what it took.
func Standalone(keys *tokens.Keyset, sessionTTL time.Duration) *App {
	a := &App{Session: &SessionConfig{TTL: caddy.Duration(sessionTTL)}, logger: zap.NewNop()}
	a.rt = &appRuntime{life: newLifecycle(), keys: keys}
	a.rt.sessions, _ = newSessionCache() // nil on failure: no cache, still correct
	a.routes = newRouteRegistry()
	a.stepRT = new(StepUpRuntime)
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
	m := newMetrics()
	if err := m.registerIn(reg); err != nil {
		return err
	}
	a.metrics = m
	return nil
}
