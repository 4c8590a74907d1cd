package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/caddymodule/smileidpool"
	"github.com/login-guard/login_guard/internal/newest"
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
	// tuning is each holding config's step_up block: the newest one's
	// lifetime and shares apply (see package newest).
	tuning newest.Values[*StepUpTuning]
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
	store *passkeys.CurrentStore
	keys  *liveKeys
	// users are the holding configs: the newest one's storage and keys
	// serve (see package newest).
	users newest.Values[*App]
}

// use points the relying party at a's storage and keys.
func (p *pooledPasskeys) use(a *App) {
	p.store.Set(a.ctx.Storage())
	p.keys.set(a)
}

func (p *pooledPasskeys) Destruct() error { return nil }

// tune applies a step_up block's lifetime and shares to what is held.
func (s *stepUpStore) tune(t *StepUpTuning) {
	s.held.SetTTL(time.Duration(t.StateTTL))
	s.held.SetCaps(t.HeldPerClient, t.HeldBytesPerClient, t.HeldPerUser)
}

// StepUpRuntime is the app's share of the step-up pools, taken in Start
// and given back in Cleanup.
type StepUpRuntime struct {
	// Held keeps the requests and answers held during a step-up; Used
	// the spent state tokens.
	Held stepup.HeldStore
	Used stepup.SpentSet
	// Failures counts the refused factors of each state.
	Failures stepup.FailureCounter
	// Passkeys is the relying party (nil without a passkeys block);
	// Smile the Smile ID client (nil without a smileid block).
	Passkeys *passkeys.Passkeys
	Smile    *smileidpool.Pooled

	mu       sync.Mutex
	store    *stepUpStore
	spent    savedpool.SpentTokens // the in-process store's spent tokens (not Redis')
	pp       *pooledPasskeys
	storeKey string
	pkKey    string
	smileKey string
	taken    bool
	stopped  bool
}

// ErrNotStarted refuses work on an app whose Start has not run: nothing
// may be taken, or captured, from a half-started app.
var ErrNotStarted = errors.New("login_guard: app not started")

// StepUpRuntime returns the pooled store and relying party this config
// took in Start.
func (a *App) StepUpRuntime() (*StepUpRuntime, error) {
	rt := a.stepRT
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch {
	case rt.taken:
		return rt, nil
	case rt.stopped:
		return nil, errors.New("login_guard: config stopped")
	}
	return nil, ErrNotStarted
}

// takeStepUp takes the pooled store and relying party, in Start (after
// the keys are loaded): a reload's new config holds them before the old
// one lets go, so step-ups in progress survive it. Cleanup gives them
// back.
func (a *App) takeStepUp() (*StepUpRuntime, error) {
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
	if a.redis == nil {
		rt.spent = savedpool.AcquireSpentTokens(a.storage(), a.logger.Named("stepup"))
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
			used:     rt.spent,
			failures: stepup.NewFailureSet(0),
		}, nil
	})
	if err != nil {
		rt.releaseSpent()
		return nil, err
	}
	rt.store = v.(*stepUpStore)
	rt.Held, rt.Used, rt.Failures = rt.store.held, rt.store.used, rt.store.failures
	// The newest config's lifetime and shares apply to what is held from
	// now on.
	rt.store.tuning.Hold(rt, a.StepUp, rt.store.tune)
	if a.Passkeys != nil {
		b, _ := json.Marshal(a.Passkeys)
		key := fmt.Sprintf("login_guard_passkeys:%d:%s:%s", a.StepUp.CeremoniesPerClient, b, a.redisKey)
		v, _, err := stepUpPool.LoadOrNew(key, func() (caddy.Destructor, error) {
			st := &passkeys.CurrentStore{}
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
			rt.releaseSpent()
			return nil, err
		}
		pp := v.(*pooledPasskeys)
		pp.users.Hold(rt, a, pp.use)
		rt.Passkeys, rt.pkKey, rt.pp = pp.pk, key, pp
	}
	if a.SmileID != nil {
		p, key, err := a.takeSmileID()
		if err != nil {
			_, _ = stepUpPool.Delete(rt.storeKey)
			rt.releaseSpent()
			if rt.pkKey != "" {
				_, _ = stepUpPool.Delete(rt.pkKey)
				rt.pkKey = ""
			}
			return nil, err
		}
		rt.Smile, rt.smileKey = p, key
	}
	rt.taken = true
	return rt, nil
}

// release gives the pooled values back; the last config to let go
// destroys them.
func (rt *StepUpRuntime) release() {
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
	// What this config set in the pooled values goes back to the newest
	// config still holding them: after a reload refused once this one
	// had started, the running config's (not the refused one's).
	rt.store.tuning.Let(rt, rt.store.tune)
	_, _ = stepUpPool.Delete(rt.storeKey)
	rt.releaseSpent()
	if rt.pkKey != "" {
		rt.pp.users.Let(rt, rt.pp.use)
		_, _ = stepUpPool.Delete(rt.pkKey)
	}
	if rt.smileKey != "" {
		rt.Smile.LetLogger(rt)
		_, _ = stepUpPool.Delete(rt.smileKey)
	}
}

// stopping saves the spent tokens as the config stops (see
// savedpool.Hold.Stopping).
func (rt *StepUpRuntime) stopping() {
	rt.mu.Lock()
	spent := rt.spent
	rt.mu.Unlock()
	// Not under rt.mu: the save may wait on a slow storage, and requests
	// the old config still serves take rt.mu.
	if spent.Hold != nil {
		spent.Stopping()
	}
}

// releaseSpent gives the spent-token set back, once. rt.mu is held.
func (rt *StepUpRuntime) releaseSpent() {
	if rt.spent.Hold != nil {
		rt.spent.Release()
		rt.spent = savedpool.SpentTokens{}
	}
}

// liveKeys forwards to the newest started config's keyset, read at each
// use, so tokens follow key rotation and reloads and nothing holds on to
// a keyset that was missing.
type liveKeys struct{ p atomic.Pointer[App] }

func (k *liveKeys) set(a *App) { k.p.Store(a) }

func (k *liveKeys) tokens() Tokens { return Tokens{k.p.Load()} }

func (k *liveKeys) get() *tokens.Keyset { return k.tokens().keyset() }

func (k *liveKeys) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	return k.tokens().Seal(purpose, data, now, ttl)
}

func (k *liveKeys) Open(purpose, token string, now time.Time, dst any) error {
	return k.tokens().Open(purpose, token, now, dst)
}

// Tokens forwards to the app's keyset, which Start loads after the
// handlers were provisioned and rotation replaces.
type Tokens struct{ a *App }

// Tokens seals and opens the guard's own tokens with the current keys.
func (a *App) Tokens() Tokens { return Tokens{a} }

// keyset is the app's current keys; nil without an app (liveKeys before
// any config started) or before its Start.
func (k Tokens) keyset() *tokens.Keyset {
	if k.a == nil {
		return nil
	}
	return k.a.Keyset()
}

// Seal seals data for purpose until now+ttl.
func (k Tokens) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	ks := k.keyset()
	if ks == nil {
		return "", errors.New("login_guard: no keys yet")
	}
	return ks.Seal(purpose, data, now, ttl)
}

// Open opens a token sealed for purpose into dst. One that names a key
// this instance has not read yet is opened again once the key material
// is read again (keysAfterMiss).
func (k Tokens) Open(purpose, token string, now time.Time, dst any) error {
	ks := k.keyset()
	if ks == nil {
		return errors.New("login_guard: no keys yet")
	}
	err := ks.Open(purpose, token, now, dst)
	if again := k.a.keysAfterMiss(context.Background(), ks, err); again != nil {
		err = again.Open(purpose, token, now, dst)
	}
	return err
}
