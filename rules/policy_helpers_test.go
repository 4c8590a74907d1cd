package rules

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
	"github.com/login-guard/login_guard/rules/counter"
)

var bg = context.Background()

type fakeClock = clock.Fake

func newFakeClock() *fakeClock { return clock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

// mustRules parses rule lines given as argument lists.
func mustRules(t testing.TB, lines ...[]string) []Rule {
	t.Helper()
	var out []Rule
	for _, l := range lines {
		r, err := ParseRule(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// newTestPolicy builds a policy over a fresh fake-clocked store.
func newTestPolicy(t testing.TB, maxKeys int, cfg PolicyConfig) (*Policy, *fakeClock, *counter.Memory) {
	t.Helper()
	c := newFakeClock()
	m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: maxKeys, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = m
	if cfg.Scope == "" {
		cfg.Scope = "login"
	}
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, c, m
}

func attempt(user, ip string) *Attempt {
	return &Attempt{Route: "login", Event: "login", User: user, IP: netip.MustParseAddr(ip),
		Device: "d", DevicePresent: true}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
