//go:build redis

package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRevocationAtMaxmemory: a Redis at maxmemory still answers the
// session checks of every instance, so a logout is recorded there even
// then (not kept by the instance that served it, which the others cannot
// see): the other instance refuses the cookie at once. Recording it twice
// is no error.
func TestRevocationAtMaxmemory(t *testing.T) {
	srv, cfg := single(t)
	a, b := NewRevokeSet(instance(t, cfg)), NewRevokeSet(instance(t, cfg))
	ctx := context.Background()
	now := time.Now()
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, "session-1", now.Add(time.Hour), now); err != nil {
		t.Fatalf("a logout at maxmemory: %v", err)
	}
	if revoked, err := b.Revoked(ctx, "session-1", now); !revoked || err != nil {
		t.Fatalf("the other instance, Redis at maxmemory: revoked %v, %v", revoked, err)
	}
	if err := b.Revoke(ctx, "session-1", now.Add(time.Hour), now); err != nil {
		t.Fatalf("the same logout again: %v", err)
	}
	if n := a.once.c.revokes.n.Load(); n != 0 {
		t.Fatalf("%d logouts kept by the instance though Redis took them", n)
	}
	// Its lifetime is the cookie's.
	out, err := srv.Do("PTTL", a.once.c.keys.Load().onceKey("revoked", []byte("session-1")))
	if ms, _ := strconv.Atoi(strings.TrimPrefix(out, ":")); err != nil || ms < 3_500_000 || ms > 3_600_000 {
		t.Fatalf("PTTL of the ended session: %q %v, want about an hour", out, err)
	}
}
