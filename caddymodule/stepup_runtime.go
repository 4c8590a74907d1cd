package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/tokens"
)

// stepUpPool keeps what must outlive a config reload: the held requests
// and responses (a user in the middle of a step-up must not lose their
// login to a reload), the spent-token set (a reload must not reopen spent
// states) and, per relying-party config, the passkey ceremonies in flight.
var stepUpPool = caddy.NewUsagePool()

const stepUpStoreKey = "login_guard_stepup_store"

// stepUpStore is the pooled held store and used-token set: in this
// process by default (entries do not survive a restart), or in the shared
// store (store redis), where every instance sees them.
type stepUpStore struct {
	held     stepup.HeldStore
	used     stepup.SpentSet
	failures stepup.FailureCounter
}

func (s *stepUpStore) Destruct() error {
	// The in-process sets forget their entries; the shared ones expire
	// on their own.
	for _, v := range []any{s.used, s.failures} {
		if d, ok := v.(interface{ Destruct() error }); ok {
			_ = d.Destruct()
		}
	}
	return s.held.Destruct()
}

// pooledPasskeys is a relying party shared by the configs that agree on
// it. Its storage and keys follow the newest config, since a reload may
// change them while ceremonies are in flight.
type pooledPasskeys struct {
	pk    *passkeys.Passkeys
	store *swappableStore
	keys  *liveKeys
}

func (p *pooledPasskeys) Destruct() error { return nil }

// appStepUpRuntime is the app's share of the pools, taken in Start and
// given back in Stop.
type appStepUpRuntime struct {
	mu       sync.Mutex
	store    *stepUpStore
	storeKey string
	passkeys *passkeys.Passkeys
	pkKey    string
	smile    *pooledSmileID
	smileKey string
	taken    bool
	stopped  bool
}

// errNotStarted refuses step-up work on an app whose Start has not run:
// nothing may be taken, or captured, from a half-started app.
var errNotStarted = errors.New("login_guard: app not started")

// stepUp returns the pooled store and relying party this config took in
// Start.
func (a *App) stepUp() (*appStepUpRuntime, error) {
	rt := a.stepRT
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch {
	case rt.taken:
		return rt, nil
	case rt.stopped:
		return nil, errors.New("login_guard: config stopped")
	}
	return nil, errNotStarted
}

// takeStepUp takes the pooled store and relying party, in Start (after
// the keys are loaded): a reload's new config holds them before the old
// one lets go, so step-ups in progress survive it. Cleanup gives them
// back.
func (a *App) takeStepUp() (*appStepUpRuntime, error) {
	rt := a.stepRT
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.taken {
		return rt, nil
	}
	if rt.stopped {
		return nil, errors.New("login_guard: config stopped")
	}
	rt.storeKey = stepUpStoreKey
	if a.redis != nil {
		rt.storeKey += ":" + a.redisKey
	}
	v, _, err := stepUpPool.LoadOrNew(rt.storeKey, func() (caddy.Destructor, error) {
		if a.redis != nil {
			return &stepUpStore{
				held:     stepup.NewSharedHeld(redisstore.NewHeldBackend(a.redis), stepup.DefaultStateTTL),
				used:     redisstore.NewSpentSet(a.redis, "stepup"),
				failures: redisstore.NewFailureCounter(a.redis),
			}, nil
		}
		return &stepUpStore{
			held:     stepup.NewHeld(stepup.HeldConfig{TTL: stepup.DefaultStateTTL}),
			used:     stepup.NewUsedSet(0),
			failures: stepup.NewFailureSet(0),
		}, nil
	})
	if err != nil {
		return nil, err
	}
	rt.store = v.(*stepUpStore)
	// The newest config's lifetime and shares apply to what is held from
	// now on.
	t := a.StepUp
	rt.store.held.SetTTL(time.Duration(t.StateTTL))
	rt.store.held.SetCaps(t.HeldPerClient, t.HeldBytesPerClient, t.HeldPerUser)
	if a.Passkeys != nil {
		b, _ := json.Marshal(a.Passkeys)
		key := fmt.Sprintf("login_guard_passkeys:%d:%s:%s", a.StepUp.CeremoniesPerClient, b, a.redisKey)
		v, _, err := stepUpPool.LoadOrNew(key, func() (caddy.Destructor, error) {
			st := &swappableStore{}
			keys := &liveKeys{}
			cfg := a.Passkeys.config(keys, a.StepUp.CeremoniesPerClient)
			if a.redis != nil {
				// Ceremonies in flight are shared: Begin on one
				// instance, Finish on another.
				cfg.Ceremonies = redisstore.NewCeremonyBackend(a.redis)
			}
			pk, err := passkeys.New(cfg, st)
			if err != nil {
				return nil, err
			}
			return &pooledPasskeys{pk: pk, store: st, keys: keys}, nil
		})
		if err != nil {
			_, _ = stepUpPool.Delete(rt.storeKey)
			return nil, err
		}
		pp := v.(*pooledPasskeys)
		pp.store.set(a.ctx.Storage())
		pp.keys.set(a)
		rt.passkeys, rt.pkKey = pp.pk, key
	}
	if a.SmileID != nil {
		p, key, err := a.takeSmileID()
		if err != nil {
			_, _ = stepUpPool.Delete(rt.storeKey)
			if rt.pkKey != "" {
				_, _ = stepUpPool.Delete(rt.pkKey)
				rt.pkKey = ""
			}
			return nil, err
		}
		rt.smile, rt.smileKey = p, key
	}
	rt.taken = true
	return rt, nil
}

// release gives the pooled values back; the last config to let go
// destroys them.
func (rt *appStepUpRuntime) release() {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.stopped = true
	if !rt.taken {
		return
	}
	rt.taken = false
	_, _ = stepUpPool.Delete(rt.storeKey)
	if rt.pkKey != "" {
		_, _ = stepUpPool.Delete(rt.pkKey)
	}
	if rt.smileKey != "" {
		_, _ = stepUpPool.Delete(rt.smileKey)
	}
}

// swappableStore forwards to the newest config's Caddy storage
// (certmagic.Storage has the methods passkeys.Store needs).
type swappableStore struct {
	p atomic.Pointer[passkeys.Store]
}

func (s *swappableStore) set(st passkeys.Store) { s.p.Store(&st) }

func (s *swappableStore) get() (passkeys.Store, error) {
	p := s.p.Load()
	if p == nil {
		return nil, errors.New("login_guard: no storage yet")
	}
	return *p, nil
}

func (s *swappableStore) Load(ctx context.Context, key string) ([]byte, error) {
	st, err := s.get()
	if err != nil {
		return nil, err
	}
	return st.Load(ctx, key)
}

func (s *swappableStore) Store(ctx context.Context, key string, value []byte) error {
	st, err := s.get()
	if err != nil {
		return err
	}
	return st.Store(ctx, key, value)
}

func (s *swappableStore) Lock(ctx context.Context, name string) error {
	st, err := s.get()
	if err != nil {
		return err
	}
	return st.Lock(ctx, name)
}

func (s *swappableStore) Unlock(ctx context.Context, name string) error {
	st, err := s.get()
	if err != nil {
		return err
	}
	return st.Unlock(ctx, name)
}

// liveKeys forwards to the newest started config's keyset, read at each
// use, so tokens follow key rotation and reloads and nothing holds on to
// a keyset that was missing.
type liveKeys struct{ p atomic.Pointer[App] }

func (k *liveKeys) set(a *App) { k.p.Store(a) }

func (k *liveKeys) get() *tokens.Keyset {
	if a := k.p.Load(); a != nil {
		return a.keyset()
	}
	return nil
}

func (k *liveKeys) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	ks := k.get()
	if ks == nil {
		return "", errors.New("login_guard: no keys yet")
	}
	return ks.Seal(purpose, data, now, ttl)
}

func (k *liveKeys) Open(purpose, token string, now time.Time, dst any) error {
	ks := k.get()
	if ks == nil {
		return errors.New("login_guard: no keys yet")
	}
	return ks.Open(purpose, token, now, dst)
}

// appKeys forwards to the app's keyset, which Start loads after the
// handlers were provisioned.
type appKeys struct{ a *App }

func (k appKeys) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	ks := k.a.keyset()
	if ks == nil {
		return "", errors.New("login_guard: no keys yet")
	}
	return ks.Seal(purpose, data, now, ttl)
}

func (k appKeys) Open(purpose, token string, now time.Time, dst any) error {
	ks := k.a.keyset()
	if ks == nil {
		return errors.New("login_guard: no keys yet")
	}
	return ks.Open(purpose, token, now, dst)
}

// routeStepUp is a route's step-up machinery, built on first use because
// the used-token set comes from the pool.
type routeStepUp struct {
	prefix stepup.IPPrefix
	page   *stepup.Page
	// now is the clock; tests replace it.
	now func() time.Time

	mu     sync.Mutex
	issuer *stepup.Issuer
	app    *appStepUpRuntime
}

// stepUpMachinery returns the route's issuer and the app's pooled state.
// Only a success is kept: an error (a request on a stopped config) must
// not stick to the route.
func (h *Handler) stepUpMachinery() (*stepup.Issuer, *appStepUpRuntime, error) {
	su := h.StepUpOptions.su
	su.mu.Lock()
	defer su.mu.Unlock()
	if su.issuer != nil {
		return su.issuer, su.app, nil
	}
	rt, err := h.app.stepUp()
	if err != nil {
		return nil, nil, err
	}
	now := su.now
	if now == nil {
		now = time.Now
	}
	t := h.app.StepUp
	iss, err := stepup.NewIssuer(stepup.Config{
		Keys:        appKeys{h.app},
		Used:        rt.store.used,
		Failures:    rt.store.failures,
		MaxFailures: t.FactorAttempts,
		StateTTL:    time.Duration(t.StateTTL),
		ContinueTTL: time.Duration(t.ContinuationTTL),
		IPPrefix:    su.prefix,
		Now:         now,
	})
	if err != nil {
		return nil, nil, err
	}
	su.issuer, su.app = iss, rt
	return iss, rt, nil
}

// stepUpNow is the route's step-up clock.
func (h *Handler) stepUpNow() time.Time {
	if f := h.StepUpOptions.su.now; f != nil {
		return f()
	}
	return time.Now()
}
