package smileid

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := NewMemoryLimiter(Rate{N: 2, Window: time.Hour}, Rate{N: 3, Window: time.Hour}, 5, clock)
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
		var le *LimitError
		switch {
		case s.scope == "":
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		case s.scope == "ok":
			if !errors.Is(err, ErrLimiterFull) {
				t.Fatalf("step %d: want the full-table refusal, got %v", i, err)
			}
		default:
			if !errors.As(err, &le) || le.Scope != s.scope || le.RetryAfter != time.Hour || !errors.Is(err, ErrSubmitLimited) {
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

func BenchmarkMemoryLimiter(b *testing.B) {
	l := NewMemoryLimiter(Rate{N: 1 << 30, Window: time.Hour}, Rate{N: 1 << 30, Window: time.Hour}, 1000, nil)
	ip := netip.MustParseAddr("198.51.100.1")
	b.ReportAllocs()
	for b.Loop() {
		_ = l.AllowSubmit(context.Background(), "alice", ip)
	}
}
