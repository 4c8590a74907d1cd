package caddymodule

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestSubmitLimiter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := newSubmitLimiter(rateLimit{n: 2, window: time.Hour}, rateLimit{n: 3, window: time.Hour}, 5, clock)
	ip1, ip2 := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	v6a, v6b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2::ffff")
	steps := []struct {
		user  string
		ip    netip.Addr
		scope string // "" allowed, else the refusing rule
	}{
		{"alice", ip1, ""},
		{"alice", ip1, ""},
		{"alice", ip1, "user"}, // third for alice
		{"bob", ip1, ""},       // ip1's third: alice's refusal did not count
		{"carol", ip1, "ip"},   // ip1's fourth
		{"dave", v6a, ""},
		{"dave", v6b, ""},   // same /64, dave's second
		{"erin", v6b, "ok"}, // table full: alice, ip1, bob, dave and the /64 fill its 5 slots
	}
	for i, s := range steps {
		err := l.AllowSubmit(context.Background(), s.user, s.ip)
		var le *submitLimitError
		switch {
		case s.scope == "":
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		case s.scope == "ok":
			if !errors.Is(err, errLimiterFull) {
				t.Fatalf("step %d: want the full-table refusal, got %v", i, err)
			}
		default:
			if !errors.As(err, &le) || le.Scope != s.scope || le.RetryAfter != time.Hour || !errors.Is(err, errSubmitLimited) {
				t.Fatalf("step %d: want %s refusal, got %v", i, s.scope, err)
			}
		}
	}
	// After the window the table is swept and the counts start again.
	now = now.Add(time.Hour)
	for _, u := range []string{"alice", "alice"} {
		if err := l.AllowSubmit(context.Background(), u, ip2); err != nil {
			t.Fatalf("next window: %v", err)
		}
	}
}

func BenchmarkSubmitLimiter(b *testing.B) {
	l := newSubmitLimiter(rateLimit{n: 1 << 30, window: time.Hour}, rateLimit{n: 1 << 30, window: time.Hour}, 1000, nil)
	ip := netip.MustParseAddr("198.51.100.1")
	b.ReportAllocs()
	for b.Loop() {
		_ = l.AllowSubmit(context.Background(), "alice", ip)
	}
}
