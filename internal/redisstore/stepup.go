package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
)

// HeldBackend keeps step-up's sealed held requests and withheld answers:
// ciphertext under a key only the user's token carries, so Redis holds
// nothing readable. Take is GETDEL: of concurrent takes on any instances,
// one gets the entry, so the portal receives a held login once.
type HeldBackend struct{ c *Conn }

// NewHeldBackend returns the backend on c.
func NewHeldBackend(c *Conn) *HeldBackend { return &HeldBackend{c: c} }

func (k *keyer) heldKey(handle string) string {
	return k.prefix + "h{" + k.hash(16, "held", handle) + "}"
}

// Store implements stepup.HeldBackend.
func (b *HeldBackend) Store(handle string, sealed []byte, ttl time.Duration) error {
	err := b.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		return cl.Set(ctx, k.heldKey(handle), sealed, ttl).Err()
	})
	if isOOM(err) {
		return ErrFull
	}
	return err
}

// Take implements stepup.HeldBackend.
func (b *HeldBackend) Take(handle string) ([]byte, error) {
	var out []byte
	err := b.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		// Sent once: a resent GETDEL after a lost reply would find the
		// entry gone and lose the login.
		cmd := redis.NewStringCmd(ctx, "getdel", k.heldKey(handle))
		_ = cl.Process(ctx, noRetryStringCmd{cmd})
		v, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		out = v
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, stepup.ErrHeldGone
	}
	return out, nil
}

// Has implements stepup.HeldBackend.
func (b *HeldBackend) Has(handle string) (bool, error) {
	var n int64
	err := b.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		var err error
		n, err = cl.Exists(ctx, k.heldKey(handle)).Result()
		return err
	})
	return n == 1, err
}

type noRetryStringCmd struct{ *redis.StringCmd }

func (noRetryStringCmd) NoRetry() bool { return true }

// SpentSet is step-up's set of spent one-use tokens, shared by every
// instance: a state completed on one instance is spent on all. It fails
// closed (see stepup.SpentSet): Redis out of memory is the set full
// (ErrFull); any other failure (Redis unreachable, timed out, not
// serving, or answering an error) wraps stepup.ErrStoreUnavailable, so
// the token is refused as such rather than as a replay.
type SpentSet struct{ once *OnceSet }

// NewSpentSet returns the set named ns on c.
func NewSpentSet(c *Conn, ns string) *SpentSet { return &SpentSet{once: NewOnceSet(c, ns)} }

// Mark implements stepup.SpentSet.
func (s *SpentSet) Mark(id string, expires, now time.Time) (bool, error) {
	switch err := s.once.Remember(context.Background(), []byte(id), expires.Sub(now)); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrSeen):
		return false, nil
	case errors.Is(err, ErrFull):
		return false, err
	default:
		return false, storeUnavailable(err)
	}
}

// Seen implements stepup.SpentSet; an error answers true (refuse).
func (s *SpentSet) Seen(id string, _ time.Time) (bool, error) {
	seen, err := s.once.Has(context.Background(), []byte(id))
	if err != nil {
		return true, storeUnavailable(err)
	}
	return seen, nil
}

// storeUnavailable marks err as step-up's shared store failing (see
// stepup.ErrStoreUnavailable), keeping what it wraps.
func storeUnavailable(err error) error {
	return fmt.Errorf("%w: %w", stepup.ErrStoreUnavailable, err)
}

var (
	_ stepup.HeldBackend = (*HeldBackend)(nil)
	_ stepup.SpentSet    = (*SpentSet)(nil)
)

// CeremonyBackend keeps passkey ceremonies in flight (sealed by the
// passkeys package under a key derived from the ceremony id, which only
// the browser holds), so a ceremony begun on one instance finishes on
// another, once.
type CeremonyBackend struct{ h *HeldBackend }

// NewCeremonyBackend returns the backend on c.
func NewCeremonyBackend(c *Conn) *CeremonyBackend { return &CeremonyBackend{h: NewHeldBackend(c)} }

// Store implements passkeys.CeremonyBackend.
func (b *CeremonyBackend) Store(handle string, sealed []byte, ttl time.Duration) error {
	return b.h.Store("passkey\x00"+handle, sealed, ttl)
}

// Take implements passkeys.CeremonyBackend.
func (b *CeremonyBackend) Take(handle string) ([]byte, error) {
	s, err := b.h.Take("passkey\x00" + handle)
	if errors.Is(err, stepup.ErrHeldGone) {
		return nil, nil
	}
	return s, err
}

// FailureCounter counts refused step-up factors per state in Redis, so the
// limit holds however many instances the guesses are spread over. It
// fails closed: a count it cannot make reports full (the state is spent).
type FailureCounter struct{ c *Conn }

// NewFailureCounter returns the counter on c.
func NewFailureCounter(c *Conn) *FailureCounter { return &FailureCounter{c: c} }

func (k *keyer) failureKey(handle string) string {
	return k.prefix + "f{" + k.hash(16, "factor-failures", handle) + "}"
}

// failureScript: KEYS counter. ARGV ttl_ms. Returns the count.
var failureScript = newScript(`#!lua
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return n
`)

// Add implements stepup.FailureCounter.
func (f *FailureCounter) Add(handle string, expires, now time.Time) (int, bool) {
	ttl := expires.Sub(now).Milliseconds()
	if ttl < 1 {
		ttl = 1
	}
	var n int64
	err := f.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		var err error
		n, err = runOnce(ctx, cl, failureScript, []string{k.failureKey(handle)}, ttl).Int64()
		return err
	})
	if err != nil {
		return 0, true
	}
	return int(n), false
}

// Count implements stepup.FailureCounter; an error wraps
// stepup.ErrStoreUnavailable.
func (f *FailureCounter) Count(handle string, _ time.Time) (int, error) {
	var n int
	err := f.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		v, err := cl.Get(ctx, k.failureKey(handle)).Int()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		n = v
		return err
	})
	if err != nil {
		return 0, storeUnavailable(err)
	}
	return n, nil
}

// Forget implements stepup.FailureCounter.
func (f *FailureCounter) Forget(handle string) {
	_ = f.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		return cl.Del(ctx, k.failureKey(handle)).Err()
	})
}

var _ stepup.FailureCounter = (*FailureCounter)(nil)

func (k *keyer) shareKey(kind, owner string) string {
	return k.prefix + "s{" + k.hash(16, "held-share", kind, owner) + "}"
}

// shareScript: KEYS share (a sorted set: member handle:size, score expiry
// in ms). ARGV handle, size, max entries (0: no cap), max bytes (0: no
// cap), ttl_ms. Returns 1 and records, or 0.
var shareScript = newScript(`#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxn, maxb, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
if maxn > 0 and #live >= maxn then return 0 end
if maxb > 0 then
  local sum = tonumber(ARGV[2])
  for _, m in ipairs(live) do sum = sum + tonumber(string.match(m, ':(%d+)$')) end
  if sum > maxb then return 0 end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1] .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl + 1000)
return 1
`)

// Admit implements stepup.HeldShares: the client's and the user's shares
// are counted in one pipelined round trip (their keys may live on
// different Cluster slots); when one refuses, the other's record is
// removed again.
func (b *HeldBackend) Admit(o stepup.Owner, handle string, size int64, clientEntries int, clientBytes int64, userEntries int, ttl time.Duration) (bool, error) {
	var admitted bool
	err := b.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		var calls []scriptCall
		member := handle + ":" + strconv.FormatInt(size, 10)
		if o.Client != "" {
			calls = append(calls, scriptCall{script: shareScript, keys: []string{k.shareKey("client", o.Client)},
				args: []any{handle, size, clientEntries, clientBytes, ttl.Milliseconds()}})
		}
		if o.User != "" {
			calls = append(calls, scriptCall{script: shareScript, keys: []string{k.shareKey("user", o.User)},
				args: []any{handle, size, userEntries, 0, ttl.Milliseconds()}})
		}
		runBatch(ctx, cl, calls)
		admitted = true
		var firstErr error
		for _, c := range calls {
			n, err := c.cmd.Int64()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if n != 1 {
				admitted = false
			}
		}
		if !admitted {
			for _, c := range calls {
				if n, _ := c.cmd.Int64(); n == 1 {
					_ = cl.ZRem(ctx, c.keys[0], member).Err()
				}
			}
		}
		return firstErr
	})
	if isOOM(err) {
		return false, nil
	}
	return admitted && err == nil, err
}

var _ stepup.HeldShares = (*HeldBackend)(nil)

// Admit implements passkeys.CeremonyShares.
func (b *CeremonyBackend) Admit(client, handle string, max int, ttl time.Duration) (bool, error) {
	var n int64
	err := b.h.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		var err error
		n, err = runOnce(ctx, cl, shareScript, []string{k.shareKey("ceremony-client", client)}, handle, 0, max, 0, ttl.Milliseconds()).Int64()
		return err
	})
	if isOOM(err) {
		return false, nil
	}
	return n == 1, err
}

var (
	_ passkeys.CeremonyBackend = (*CeremonyBackend)(nil)
	_ passkeys.CeremonyShares  = (*CeremonyBackend)(nil)
)
