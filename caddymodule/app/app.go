// Package app is the `login_guard` app: what every guarded route of a
// config shares for its lifetime — keys and their rotation, the session
// cookie, metrics, the shared store, the SmartID queue, the LoginID
// verifier, engines and their breakers, the step-up state and factors, the
// pages, the counter store of the local rules and the registry of routes
// the admin API reads — with its global Caddyfile options and its
// lifecycle. Route handlers find it with ctx.App("login_guard"), the admin
// API with ctx.AppIfConfigured.
package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/engines"
	"github.com/login-guard/login_guard/caddymodule/routecheck"
	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/expiry"
	"github.com/login-guard/login_guard/internal/metrics"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/internal/repeatlog"
	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/internal/sessioncache"
	"github.com/login-guard/login_guard/internal/tokens"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `login_guard` app: what every guarded route shares for the
// lifetime of a config — the SmartID client and its queue, and the key
// material for the guard's own cookies. Handlers find it with
// ctx.App("login_guard"); with no global `login_guard` block Caddy gives
// them an empty App, so the guard runs on local rules alone.
type App struct {
	// SmartID enables analytics events. Optional.
	SmartID *SmartIDConfig `json:"smartid,omitempty"`
	// Session configures the guard's own session cookie and its keys.
	Session *SessionConfig `json:"session,omitempty"`

	// LoginID verifies LoginID FIDO2 JWTs on routes with `assertion`.
	LoginID *LoginIDConfig `json:"loginid,omitempty"`

	// Store, when set, keeps the guard's shared state in Redis so that
	// several instances enforce one set of limits. Optional.
	Store *StoreConfig `json:"store,omitempty"`

	// StartWait bounds how long a guarded request that arrives before the
	// app has started waits for it; then it gets 503 with Retry-After.
	// Default 3s, at most 30s; 0 answers 503 at once.
	StartWait *caddy.Duration `json:"start_wait,omitempty"`

	// EnginesRaw are the engines, each with its module name under "engine".
	EnginesRaw []json.RawMessage `json:"engines,omitempty" caddy:"namespace=login_guard.engines inline_key=engine"`
	// Breaker tunes every engine's circuit breaker.
	Breaker *BreakerConfig `json:"breaker,omitempty"`

	// Passkeys configures the built-in passkey factor (the relying party).
	Passkeys *PasskeysConfig `json:"passkeys,omitempty"`
	// SmileID configures the selfie factor.
	SmileID *smileidpool.Config `json:"smileid,omitempty"`
	// StepUp tunes lifetimes, factor attempts and per-client shares.
	StepUp *StepUpTuning `json:"step_up,omitempty"`

	// RulesStore bounds the in-memory counter store of the local rules.
	RulesStore *RulesStoreConfig `json:"rules_store,omitempty"`

	// Pages are the portal's name and logo, the help link and the
	// operator's template directory for the guard's pages.
	Pages *pages.Options `json:"pages,omitempty"`

	ctx     caddy.Context
	logger  *zap.Logger
	metrics *Metrics
	routes  *RouteRegistry
	// metricsHeld: this config holds a reference to the collectors.
	metricsHeld bool

	smartidKey string
	smartid    *SmartIDQueue

	loginid *loginid.Verifier
	// loginidUsed is the verifier's replay cache without store redis,
	// taken in Start (loginidUsedHold, until given back).
	loginidUsed     *savedpool.UsedAssertions
	loginidUsedHold *savedpool.Hold[*expiry.Set]

	redis    *redisstore.Conn // the shared store; nil: memory
	redisKey string

	engineNames  engines.Names // the Caddyfile's engine blocks, as read
	engineByName map[string]*engine.Guarded
	postAuth     map[string]bool
	// breakers: the engines' breakers as the breaker gauge shows them,
	// while this config is the newest running.
	breakers *metrics.Breakers

	stepRT  *StepUpRuntime
	reports *engine.Reporter

	pageSet *pages.Set

	// rt is allocated in Provision: App values are copied by Caddy's
	// module registry, so no lock may live in the struct itself.
	rt *appRuntime
}

// appRuntime is the app's mutable state.
type appRuntime struct {
	mu      sync.RWMutex
	keys    *tokens.Keyset
	xffOnce sync.Once
	life    *lifecycle

	keyReload tokens.Reloader // reloads keys, hourly and on a token's unknown key
	sessions  *sessioncache.Cache
	engines   engine.Runner // every engine call of this config
	revoked   revoke.Set
	// sharedRevocations is revoked when it is the Redis store's set;
	// handOff is the one this config gave its connection, prevHandOff and
	// prevLive what it replaced (see kept_logouts.go).
	sharedRevocations *redisstore.RevokeSet
	handOff           *redisstore.HandOff
	prevHandOff       *redisstore.HandOff
	prevLive          *redisstore.RevokeSet
	// revocations: revoked is the pooled in-memory set (not the shared
	// store's), held until given back.
	revocations savedpool.Revocations
	// revokeLines holds back the repeats of "session revocations
	// unavailable": in a Redis outage every request with a session
	// cookie meets it.
	revokeLines *repeatlog.Log
}

// revokeLogEvery is how often a revocation store that does not answer is
// logged, with the count of the lines held back.
const revokeLogEvery = 10 * time.Second

// SessionConfig configures the guard's session cookie.
type SessionConfig struct {
	// TTL is how long a guard session lasts. Default 12h.
	TTL caddy.Duration `json:"ttl,omitempty"`
	// KeyRotation is how often a new signing/encryption key is made.
	// Default 7 days.
	KeyRotation caddy.Duration `json:"key_rotation,omitempty"`
	// KeyGrace is how long a replaced key still opens tokens. It must
	// exceed TTL so no live session is cut short. Default TTL + 1h.
	KeyGrace caddy.Duration `json:"key_grace,omitempty"`
	// MaxRevocations bounds the sessions ended by a logout that are
	// remembered until their cookies expire (default 100000, 1000 to
	// 10000000); at the bound the one expiring first is forgotten.
	MaxRevocations int `json:"max_revocations,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "login_guard",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision sets defaults and checks the config. It starts nothing:
// `caddy validate` runs it too.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.rt = &appRuntime{life: newLifecycle(), revokeLines: repeatlog.New(revokeLogEvery)}
	a.routes = newRouteRegistry()
	if a.StartWait != nil && (*a.StartWait < 0 || time.Duration(*a.StartWait) > maxStartWait) {
		return fmt.Errorf("start_wait must be from 0 to %v", maxStartWait)
	}
	if a.Session == nil {
		a.Session = new(SessionConfig)
	}
	s := a.Session
	l := s.lifetimes().WithDefaults()
	s.TTL, s.KeyRotation, s.KeyGrace = caddy.Duration(l.TTL), caddy.Duration(l.Rotation), caddy.Duration(l.Grace)
	if s.MaxRevocations == 0 {
		s.MaxRevocations = revoke.DefaultMax
	}
	if s.MaxRevocations < minRevocations || s.MaxRevocations > maxRevocations {
		return fmt.Errorf("session: max_revocations must be from %d to %d", minRevocations, maxRevocations)
	}
	var err error
	if a.metrics, err = acquireMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	a.metricsHeld = true
	if a.SmartID != nil {
		if err := a.SmartID.provision(); err != nil {
			return fmt.Errorf("smartid: %w", err)
		}
		a.smartidKey = a.SmartID.poolKey()
	}
	if err := a.provisionStore(ctx); err != nil {
		return err
	}
	if a.LoginID != nil {
		if a.loginid, a.loginidUsed, err = a.newLoginIDVerifier(); err != nil {
			return err
		}
	}
	if err := a.provisionEngines(ctx); err != nil {
		return err
	}
	if err := a.provisionPages(); err != nil {
		return err
	}
	return a.provisionStepUp(ctx)
}

// Validate checks fields against each other.
func (a *App) Validate() error {
	if err := a.Session.lifetimes().Check(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if a.Store != nil && a.Store.Redis != nil && a.RulesStore != nil {
		return errors.New("rules_store bounds the in-memory counter store; with store redis the counters live in Redis, bounded by its maxmemory: remove rules_store")
	}
	return nil
}

// Start loads (or creates, once, under a storage lock) the key material,
// joins the SmartID queue and takes the step-up store for this config.
// These live in pools keyed by what defines them, so a config reload
// reuses them instead of draining the queue, minting new keys or losing
// the step-ups in progress. Requests wait for Start (see lifecycle.go).
func (a *App) Start() error {
	if hold := startHoldForTest; hold != nil {
		go func() {
			<-hold
			if err := a.start(); err != nil {
				a.logger.Error("held start failed", zap.Error(err))
			}
		}()
		return nil
	}
	return a.start()
}

func (a *App) start() error {
	ks, err := loadKeys(a.ctx, a.Session)
	if err != nil {
		// Caddy refuses the config: `caddy run` exits with the error, a
		// reload leaves the running config serving.
		err = fmt.Errorf("login_guard keys: %w", err)
		a.logger.Error("the login_guard app cannot start", zap.Error(err))
		return err
	}
	a.rt.mu.Lock()
	a.rt.keys = ks
	a.rt.mu.Unlock()
	if err := a.startStore(); err != nil {
		return err
	}
	a.rt.sessions = sessioncache.New()
	if a.redis != nil {
		// Shared: a logout on one instance ends the session on all.
		a.rt.sharedRevocations = redisstore.NewRevokeSet(a.redis)
		a.rt.revoked = a.rt.sharedRevocations
	} else {
		a.rt.revocations = savedpool.AcquireRevocations(a.Session.MaxRevocations, a.ctx.Storage(), a.logger.Named("revocations"))
		a.rt.revoked = a.rt.revocations
	}
	if a.SmartID != nil {
		q, err := acquireSmartID(a.smartidKey, a.SmartID, a.logger, a)
		if err != nil {
			a.rt.sessions.Close()
			return err
		}
		a.smartid = q
	}
	if _, err := a.takeStepUp(); err != nil {
		a.rt.sessions.Close()
		if a.smartid != nil {
			_ = releaseSmartID(a.smartidKey, a.smartid, a)
		}
		return err
	}
	if a.loginidUsed != nil {
		a.loginidUsedHold = a.loginidUsed.Take(a.ctx.Storage(), a.logger.Named("loginid"))
	}
	// The saved sets this start made are read all at once (each began as
	// it was taken): a storage that hangs holds the start up for one
	// bound in all, then their reads go on in the background.
	a.rt.revocations.WaitRead()
	a.stepRT.spent.WaitRead()
	a.loginidUsedHold.WaitRead()
	a.breakers.Show()
	a.rt.keyReload.Start(a.reloadKeys, keyCheckInterval)
	if rs := a.rt.sharedRevocations; rs != nil {
		// Last, once nothing can fail the start: logouts a closing Redis
		// connection kept go to this config from now on (see
		// kept_logouts.go), and those a stop saved are taken back.
		dir := path.Join(keptLogoutsPrefix, storeIdentity(a.redis.Config()))
		logger := a.logger.Named("store")
		a.rt.prevLive = liveRevocations.Swap(rs)
		a.rt.handOff = &redisstore.HandOff{Take: handOffKept(rs, a.ctx.Storage(), dir, logger)}
		a.rt.prevHandOff = a.redis.HandOffKept(a.rt.handOff)
		restoreKeptLogouts(a.ctx.Storage(), dir, rs, logger)
	}
	a.rt.life.markStarted()
	// A guard route no request can reach passes every login unjudged:
	// say so once the config runs.
	routecheck.Warn(a.ctx, a.logger)
	return nil
}

// Stop ends what only this config drives (key rotation, the passkey
// admin's view of it). What in-flight requests still use is given back in
// Cleanup, once they are done: Caddy stops apps in no fixed order, so the
// old handlers may still be serving now.
func (a *App) Stop() error {
	if a.rt != nil {
		a.rt.keyReload.Stop()
	}
	// The sets kept in storage are saved now, not only once the last config lets
	// go of them: that waits for in-flight requests and the SmartID
	// drain, and a service manager may kill the process before (the last
	// save still takes what came since). Both at once, so a storage that
	// hangs holds the stop up for one bound, not two.
	var saves sync.WaitGroup
	if a.rt != nil && a.rt.revocations.Hold != nil {
		saves.Go(a.rt.revocations.Stopping)
	}
	if a.stepRT != nil {
		saves.Go(a.stepRT.stopping)
	}
	if h := a.loginidUsedHold; h != nil {
		saves.Go(h.Stopping)
	}
	saves.Wait()
	a.stopEngines()
	return nil
}

// releasePooled gives back the pooled values this config took in Start;
// the last config to let go of one drains or destroys it.
func (a *App) releasePooled() {
	if !a.rt.life.isStarted() {
		return
	}
	a.stopStepUp()
	if a.smartid != nil {
		if err := releaseSmartID(a.smartidKey, a.smartid, a); err != nil {
			a.logger.Warn("smartid queue closed with events undelivered", zap.Error(err))
		}
	}
	a.rt.sessions.Close()
	a.releaseRevocations()
	a.stopLoginID()
	conn := a.redis
	a.releaseStore()
	if rs := a.rt.sharedRevocations; rs != nil {
		// After the store's release, which closes the connection when this
		// config was its last (the hand-off then saves to storage): a config
		// that ends while an older one still runs (a reload that failed
		// once this app had started) gives the older one's set and
		// hand-off back their place.
		liveRevocations.CompareAndSwap(rs, a.rt.prevLive)
		conn.GiveBackHandOff(a.rt.handOff, a.rt.prevHandOff)
	}
	a.releaseMetrics()
}

// releaseMetrics lets go of the process's collectors (once). The
// pointer stays: a late request still counts into the same collectors.
func (a *App) releaseMetrics() {
	if a.metricsHeld {
		a.metricsHeld = false
		releaseMetrics()
	}
}

// Cleanup gives back what the config holds. Caddy calls it once every app
// of the config has stopped, and also when Provision failed half way, so
// it only touches what exists. A started config lets its in-flight
// requests finish first (see releaseWhenIdle).
func (a *App) Cleanup() error {
	if a.rt != nil && a.rt.life.isStarted() {
		a.releaseWhenIdle()
		return nil
	}
	// A Start that failed half way may hold the revocation set.
	a.releaseRevocations()
	a.stopLoginID()
	a.releaseStore()
	a.releaseMetrics()
	return nil
}

// Keyset returns the current keys; nil before Start (requests wait for
// Start, see lifecycle.go).
func (a *App) Keyset() *tokens.Keyset {
	a.rt.mu.RLock()
	defer a.rt.mu.RUnlock()
	return a.rt.keys
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)

// Logger is the app's logger.
func (a *App) Logger() *zap.Logger { return a.logger }

// Metrics are the app's collectors (nil outside Caddy: every method is
// then a no-op).
func (a *App) Metrics() *Metrics { return a.metrics }

// MetricsRegistry is the config's metrics registry (nil outside Caddy).
func (a *App) MetricsRegistry() *prometheus.Registry { return a.ctx.GetMetricsRegistry() }

// LoginIDVerifier verifies LoginID tokens; nil without a loginid block.
func (a *App) LoginIDVerifier() *loginid.Verifier { return a.loginid }

// UntrustedProxyWarning is the once-guard of the warning about
// X-Forwarded-For from a client outside trusted_proxies, so a config with
// many routes warns once, not once per route.
func (a *App) UntrustedProxyWarning() *sync.Once { return &a.rt.xffOnce }
