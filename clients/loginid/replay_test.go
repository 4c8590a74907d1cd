package loginid

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func rkey(i int) ReplayKey {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

func TestMemoryReplayCacheExact(t *testing.T) {
	c := NewMemoryReplayCache(3)
	t0 := time.Unix(1_700_000_000, 0)
	until := t0.Add(time.Minute)

	if err := c.Remember(rkey(1), until, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Remember(rkey(1), until, t0.Add(59*time.Second)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second use before expiry: %v", err)
	}
	// At the expiry instant the entry is gone and the key may be used again.
	if err := c.Remember(rkey(1), t0.Add(2*time.Minute), until); err != nil {
		t.Fatalf("use after expiry: %v", err)
	}
	if c.Len() != 1 {
		t.Fatalf("len = %d", c.Len())
	}

	// Fill to the bound: refused, not forgotten.
	now := until
	for i := 2; i <= 3; i++ {
		if err := c.Remember(rkey(i), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Remember(rkey(4), now.Add(time.Minute), now); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("over capacity: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if err := c.Remember(rkey(i), now.Add(time.Minute), now); !errors.Is(err, ErrReplayed) {
			t.Fatalf("key %d forgotten while full: %v", i, err)
		}
	}
	// Entries in other shards expire; the full cache purges them and
	// accepts again.
	later := now.Add(time.Minute)
	if err := c.Remember(rkey(4), later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if c.Len() != 1 {
		t.Fatalf("len = %d after purge", c.Len())
	}
}

// Many goroutines presenting the same key: exactly one wins. Many
// distinct keys past the bound: exactly max are accepted.
func TestMemoryReplayCacheConcurrent(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewMemoryReplayCache(100)
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Remember(rkey(7), now.Add(time.Minute), now) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners for one key", wins.Load())
	}

	var accepted atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if c.Remember(rkey(1000+g*50+i), now.Add(time.Minute), now) == nil {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 99 || c.Len() != 100 {
		t.Fatalf("accepted %d (want 99), len %d (want 100)", accepted.Load(), c.Len())
	}
}

// A custom (shared) ReplayCache's failure is a refusal that is not
// retryable: the route's failure policy must not let the token through,
// since its use was not recorded for the other instances.
func TestReplayCacheErrorFailsClosed(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayCache = replayFunc(func(ReplayKey, time.Time, time.Time) error { return errors.New("store down") })
	v := newTestVerifier(t, cfg)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "n")), testUser, testClient)
	wantSub(t, err, SubReplayUnavailable)
	if err.(*Error).Retryable() {
		t.Fatal("a replay check that could not be made must fail closed, not retryable")
	}
}

type replayFunc func(ReplayKey, time.Time, time.Time) error

func (f replayFunc) Remember(k ReplayKey, until, now time.Time) error { return f(k, until, now) }

// Entries are kept until a second past iat+max_age+skew, the last instant
// a token with that iat can pass (inclusive).
func TestReplayEntryLifetime(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	var got time.Time
	inner := NewMemoryReplayCache(10)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayCache = replayFunc(func(k ReplayKey, until, now time.Time) error {
		got = until
		return inner.Remember(k, until, now)
	})
	v := newTestVerifier(t, cfg)
	iat := clock.Now()
	tok := key.mint(t, validClaims(iat, "n"))
	_, err := v.Verify(bg, tok, testUser, testClient)
	wantSub(t, err, "")
	if want := iat.Add(2*time.Minute + 31*time.Second); !got.Equal(want) {
		t.Fatalf("until = %v, want %v", got, want)
	}
	// At its last instant the token still passes the age check: the
	// replay cache must still refuse it.
	clock.Advance(2*time.Minute + 30*time.Second)
	_, err = v.Verify(bg, tok, testUser, testClient)
	wantSub(t, err, SubReplayed)
}
