//go:build redis

package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/rules/counter"
)

// TestPeekLockout: on Redis as in memory, a peek reports a lock while it
// holds and writes nothing: no key for a subject not held, no slot, no
// failure; reservations in flight are not a lock. It answers at
// maxmemory too (the script writes nothing), and fails with the store
// when Redis is down.
func TestPeekLockout(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	ctx := context.Background()
	l := counter.Lockout{Limit: 3, Window: time.Hour, LockFor: time.Hour, Hold: time.Minute}
	k := counter.Key{Rule: "login/lockout user 3/1h for 1h", Subject: "user=jlopez"}
	peek := func() counter.Result {
		t.Helper()
		r, err := s.PeekLockout(ctx, k, l)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	before, err := rc.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := peek(); !r.Allowed || r.Locked {
		t.Fatalf("unknown key: %+v", r)
	}
	if n, err := rc.DBSize(ctx).Result(); err != nil || n != before {
		t.Fatalf("a peek wrote %d keys (%v)", n-before, err)
	}
	var inFlight counter.Result
	for range 2 {
		r, err := s.Reserve(ctx, k, l)
		if err != nil || !r.Allowed {
			t.Fatalf("reserve: %+v %v", r, err)
		}
		if _, err := s.Settle(ctx, k, l, r.Token, counter.Failure); err != nil {
			t.Fatal(err)
		}
	}
	inFlight, err = s.Reserve(ctx, k, l)
	if err != nil || !inFlight.Allowed {
		t.Fatalf("third reserve: %+v %v", inFlight, err)
	}
	for range 5 {
		if r := peek(); !r.Allowed || r.Locked {
			t.Fatalf("at the limit with a reservation in flight, not locked: %+v", r)
		}
	}
	if _, err := s.Settle(ctx, k, l, inFlight.Token, counter.Failure); err != nil {
		t.Fatal(err)
	}
	r := peek()
	if r.Allowed || !r.Locked || r.RetryAfter < 59*time.Minute || r.RetryAfter > time.Hour {
		t.Fatalf("locked: %+v", r)
	}
	// In a batch, beside an unknown key.
	ops := []counter.Op{{Kind: counter.OpPeekLockout, Key: k, Lockout: l},
		{Kind: counter.OpPeekLockout, Key: counter.Key{Rule: k.Rule, Subject: "user=other"}, Lockout: l}}
	counter.Do(ctx, s, ops)
	if ops[0].Err != nil || !ops[0].Result.Locked || ops[1].Err != nil || !ops[1].Result.Allowed {
		t.Fatalf("batch: %+v", ops)
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	if r := peek(); !r.Locked {
		t.Fatalf("at maxmemory: %+v", r)
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "0"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.PeekLockout(ctx, k, l); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with Redis down: %v", err)
	}
}
