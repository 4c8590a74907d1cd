package caddymodule

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// Two limiters on one store stand for two instances: together they admit
// the limit, not twice it.
func TestSharedSubmitLimiter(t *testing.T) {
	store, err := counter.NewMemory(counter.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *sharedSubmitLimiter {
		return &sharedSubmitLimiter{store: store, user: rateLimit{n: 3, window: time.Hour}, ip: rateLimit{n: 4, window: time.Hour}}
	}
	a, b := mk(), mk()
	ctx := context.Background()
	ip := netip.MustParseAddr("2001:db8::1")
	for i := range 3 {
		if err := []*sharedSubmitLimiter{a, b}[i%2].AllowSubmit(ctx, "alice", ip); err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	var le *submitLimitError
	if err := b.AllowSubmit(ctx, "alice", ip); !errors.As(err, &le) || le.Scope != "user" || le.RetryAfter <= 0 {
		t.Fatalf("4th for alice: %v", err)
	}
	// Another host of the same /64 is the same client.
	if err := a.AllowSubmit(ctx, "bob", netip.MustParseAddr("2001:db8::2")); err != nil {
		t.Fatal(err)
	}
	if err := a.AllowSubmit(ctx, "carol", ip); !errors.As(err, &le) || le.Scope != "ip" {
		t.Fatalf("5th from the /64: %v", err)
	}
}
