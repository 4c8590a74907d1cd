package caddymodule

import (
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// sessionCache remembers guard session cookies already opened, so the
// logouts and operations of one session pay the decryption once. A lost
// or evicted entry only costs a fresh Open (which is why ristretto, which
// may drop a Set, is right here), and an entry never outlives its token.
type sessionCache struct {
	c *ristretto.Cache[string, cachedSession]
}

type cachedSession struct {
	s       guardSession
	expires time.Time
}

func newSessionCache() (*sessionCache, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, cachedSession]{
		NumCounters: 100_000,
		MaxCost:     10_000, // entries: each costs 1
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &sessionCache{c: c}, nil
}

func (sc *sessionCache) get(token string, now time.Time) (guardSession, time.Time, bool) {
	if sc == nil {
		return guardSession{}, time.Time{}, false
	}
	v, ok := sc.c.Get(token)
	if !ok || !now.Before(v.expires) {
		return guardSession{}, time.Time{}, false
	}
	return v.s, v.expires, true
}

func (sc *sessionCache) put(token string, s guardSession, expires, now time.Time) {
	if sc == nil || !now.Before(expires) {
		return
	}
	sc.c.SetWithTTL(token, cachedSession{s: s, expires: expires}, 1, expires.Sub(now))
}

func (sc *sessionCache) close() {
	if sc != nil {
		sc.c.Close()
	}
}
