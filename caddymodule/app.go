package caddymodule

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/redisstore"
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

	// Options of the other layers, defined next to their code.
	AppEngines
	AppStepUp
	AppRules

	ctx     caddy.Context
	logger  *zap.Logger
	metrics *metrics

	smartidKey string
	smartid    *smartidQueue

	loginid        *loginid.Verifier
	loginidPoolKey string

	redis    *redisstore.Conn // the shared store; nil: memory
	redisKey string

	// rt is allocated in Provision: App values are copied by Caddy's
	// module registry, so no lock may live in the struct itself.
	rt *appRuntime
}

// appRuntime is the app's mutable state.
type appRuntime struct {
	mu      sync.RWMutex
	keys    *tokens.Keyset
	xffOnce sync.Once

	stopRotation func()
	sessions     *sessionCache
}

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
	a.rt = new(appRuntime)
	if a.Session == nil {
		a.Session = new(SessionConfig)
	}
	s := a.Session
	if s.TTL == 0 {
		s.TTL = caddy.Duration(12 * time.Hour)
	}
	if s.KeyRotation == 0 {
		s.KeyRotation = caddy.Duration(7 * 24 * time.Hour)
	}
	if s.KeyGrace == 0 {
		s.KeyGrace = s.TTL + caddy.Duration(time.Hour)
	}
	var err error
	a.metrics, err = registerMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return err
	}
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
		if a.loginid, a.loginidPoolKey, err = a.LoginID.newVerifier(a.logger.Named("loginid"), a.redis); err != nil {
			return err
		}
	}
	if err := a.provisionEngines(ctx); err != nil {
		return err
	}
	return a.provisionStepUp(ctx)
}

// Validate checks fields against each other.
func (a *App) Validate() error {
	if a.Session.KeyGrace < a.Session.TTL {
		return errors.New("session: key_grace must be at least ttl, or sessions would outlive their key")
	}
	if a.Store != nil && a.Store.Redis != nil && a.RulesStore != nil {
		return errors.New("rules_store bounds the in-memory counter store; with store redis the counters live in Redis, bounded by its maxmemory: remove rules_store")
	}
	return nil
}

// Start loads (or creates, once, under a storage lock) the key material and
// joins the SmartID queue for this config. Both live in pools keyed by what
// defines them, so a config reload reuses them instead of draining the
// queue or minting new keys.
func (a *App) Start() error {
	ks, err := loadKeys(a.ctx, a.Session)
	if err != nil {
		return fmt.Errorf("login_guard keys: %w", err)
	}
	a.rt.mu.Lock()
	a.rt.keys = ks
	a.rt.mu.Unlock()
	if err := a.startStore(); err != nil {
		return err
	}
	if a.rt.sessions, err = newSessionCache(); err != nil {
		return err
	}
	a.rt.stopRotation = a.rotateKeysEvery(keyCheckInterval)
	if a.SmartID != nil {
		q, err := acquireSmartID(a.smartidKey, a.SmartID, a.logger, a.metrics)
		if err != nil {
			return err
		}
		a.smartid = q
	}
	return nil
}

// Stop releases this config's hold on the shared SmartID queue; the queue
// drains only when the last config using it is gone.
func (a *App) Stop() error {
	if a.rt != nil && a.rt.stopRotation != nil {
		a.rt.stopRotation()
		a.rt.sessions.close()
	}
	a.stopEngines()
	a.stopStepUp()
	if a.smartid != nil {
		a.smartid = nil
		return releaseSmartID(a.smartidKey)
	}
	return nil
}

// keyset returns the current keys; nil before Start (never on a request
// path, since Caddy starts apps before it serves).
func (a *App) keyset() *tokens.Keyset {
	a.rt.mu.RLock()
	defer a.rt.mu.RUnlock()
	return a.rt.keys
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
