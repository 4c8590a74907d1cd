package app

import (
	"fmt"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/rules/counter"
)

// maxRulesStoreKeys bounds rules_store max_keys: at the worst-case sizes
// documented on counter.Memory this is a few GB, far beyond any sane
// setting, so a typo (an extra zero or three) is caught at load time.
const maxRulesStoreKeys = 10_000_000

// RulesStoreConfig configures the counter store of the local rules.
type RulesStoreConfig struct {
	// MaxKeys bounds the keys held (default 100000, about 27 MB). When
	// every held key is at its limit or locked, new keys meet each
	// route's on_full action.
	MaxKeys int `json:"max_keys,omitempty"`
}

// rulesStorePool keeps one counter store per store config across config
// reloads: counters (and so limits and lockouts in force) survive a
// reload that keeps the rules_store settings, and a store is dropped only
// when the last handler using it is cleaned up. Counters are named by
// route and rule, so a route that keeps its name and rule keeps its
// counts, and a changed rule starts afresh.
var rulesStorePool = caddy.NewUsagePool()

// pooledStore is the pooled value. The memory store starts no goroutine,
// so there is nothing to stop.
type pooledStore struct{ counter.Store }

func (pooledStore) Destruct() error { return nil }

// storeKey names the store a config asks for.
func (c *RulesStoreConfig) storeKey() string {
	n := counter.DefaultMaxKeys
	if c != nil && c.MaxKeys > 0 {
		n = c.MaxKeys
	}
	return "memory|max_keys=" + strconv.Itoa(n)
}

func (c *RulesStoreConfig) validate() error {
	if c == nil {
		return nil
	}
	if c.MaxKeys < 0 || c.MaxKeys > maxRulesStoreKeys {
		return fmt.Errorf("rules_store: max_keys must be from 1 to %d, not %d", maxRulesStoreKeys, c.MaxKeys)
	}
	return nil
}

// acquireRulesStore returns the shared store for cfg, creating it on first
// use; every successful call must be paired with releaseRulesStore(key).
func acquireRulesStore(cfg *RulesStoreConfig) (counter.Store, string, error) {
	if err := cfg.validate(); err != nil {
		return nil, "", err
	}
	key := cfg.storeKey()
	v, _, err := rulesStorePool.LoadOrNew(key, func() (caddy.Destructor, error) {
		max := 0
		if cfg != nil {
			max = cfg.MaxKeys
		}
		m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: max})
		if err != nil {
			return nil, err
		}
		return pooledStore{m}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(pooledStore).Store, key, nil
}

func releaseRulesStore(key string) {
	_, _ = rulesStorePool.Delete(key)
}

// unmarshalRulesOption reads the global block's rules_store option:
//
//	login_guard {
//		rules_store {
//			max_keys <n>
//		}
//	}
func (a *App) unmarshalRulesOption(d *caddyfile.Dispenser, key string) (bool, error) {
	if key != "rules_store" {
		return false, nil
	}
	c := new(RulesStoreConfig)
	a.RulesStore = c
	if d.NextArg() {
		return true, d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		k := d.Val()
		if seen[k] {
			return true, d.Errf("rules_store: %s given twice", k)
		}
		seen[k] = true
		switch k {
		case "max_keys":
			n, err := caddyopt.IntArg(d, 1, maxRulesStoreKeys)
			if err != nil {
				return true, err
			}
			c.MaxKeys = n
		default:
			return true, d.Errf("rules_store: unknown option %q", k)
		}
	}
	return true, nil
}

// AcquireRulesStore returns the counter store the routes' rules count in:
// the shared store (Redis) when the app has one, else the in-memory store
// the rules_store settings name, created on first use. A non-empty key
// must be given back with ReleaseRulesStore.
func (a *App) AcquireRulesStore() (st counter.Store, key string, err error) {
	if a.redis != nil {
		return redisstore.NewCounter(a.redis), "", nil
	}
	return acquireRulesStore(a.RulesStore)
}

// ReleaseRulesStore gives back a store taken with AcquireRulesStore.
func ReleaseRulesStore(key string) {
	if key != "" {
		releaseRulesStore(key)
	}
}
