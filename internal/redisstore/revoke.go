package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/internal/revoke"
)

// RevokeSet keeps the guard sessions ended by a logout, shared by every
// instance: a cookie replayed after its logout is no session on any of
// them. Each entry expires with the cookie it stands for. A logout Redis
// does not take is kept by the instance and sent again (see
// pendingRevocations).
type RevokeSet struct{ once *OnceSet }

// NewRevokeSet returns the set on c.
func NewRevokeSet(c *Conn) *RevokeSet { return &RevokeSet{once: NewOnceSet(c, "revoked")} }

// revokeScript records an ended session (KEYS the one-time key, ARGV
// ttl_ms; returns 1, or 0 when it was there) even at maxmemory
// (allow-oom): Redis still answers the other instances' session checks
// then, so a logout it refused would leave a copy of the cookie a
// session on all of them for as long as Redis stays full (a flood of new
// users and addresses fills it). What it writes past maxmemory is one
// small key per logout of a session a login opened, until that cookie
// would have expired.
var revokeScript = newScript(`#!lua flags=allow-oom
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return 1 end
return 0
`)

// record sends one logout to Redis: nil once it is there (recorded now
// or before), else the error.
func (s *RevokeSet) record(ctx context.Context, id string, ttl time.Duration) error {
	ms := max(ttl.Milliseconds(), 1)
	return s.once.c.call(ctx, func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		return runOnce(ctx, cl, revokeScript, []string{k.onceKey(s.once.ns, []byte(id))}, ms).Err()
	})
}

// Revoke implements revoke.Set.
func (s *RevokeSet) Revoke(ctx context.Context, id string, until, now time.Time) error {
	ttl := until.Sub(now)
	if ttl <= 0 {
		return nil
	}
	err := s.record(ctx, id, ttl)
	if err == nil {
		return nil
	}
	if !s.once.c.revokes.keep(s, id, until) {
		return fmt.Errorf("%w; not kept either: %d logouts already wait for redis, or the connection is closing", err, maxPendingRevocations)
	}
	return fmt.Errorf("%w: %w", revoke.ErrKept, err)
}

// Revoked implements revoke.Set. A logout this instance keeps for Redis
// is answered here, without asking.
func (s *RevokeSet) Revoked(ctx context.Context, id string, now time.Time) (bool, error) {
	if s.once.c.revokes.has(id, now) {
		return true, nil
	}
	return s.once.Has(ctx, []byte(id))
}

var _ revoke.Set = (*RevokeSet)(nil)

// Restore keeps logouts a closing connection handed on (see
// Conn.HandOffKept), on this instance or another: their cookies are
// refused here at once and the logouts sent to Redis until it takes them,
// as if this instance had served them during the outage. Those whose
// cookies expired by now are dropped. It returns how many it kept, and
// the unexpired ones it could not keep (the bound on kept logouts
// reached, or this connection closing), for the caller to hand on
// elsewhere.
func (s *RevokeSet) Restore(kept []KeptLogout, now time.Time) (restored int, refused []KeptLogout) {
	for _, k := range kept {
		switch {
		case !now.Before(k.Until):
		case s.once.c.revokes.keep(s, k.ID, k.Until):
			restored++
		default:
			refused = append(refused, k)
		}
	}
	return restored, refused
}
