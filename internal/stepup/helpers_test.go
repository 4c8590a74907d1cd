package stepup

import (
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type fakeClock = clock.Fake

func newClock() *fakeClock { return clock.New(t0) }

func newIssuer(t testing.TB, clk *fakeClock, pfx IPPrefix) *Issuer {
	t.Helper()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Now: clk.Now, IPPrefix: pfx})
	if err != nil {
		t.Fatal(err)
	}
	return is
}

var alice = Binding{
	User:      "alice",
	Route:     "login",
	IP:        netip.MustParseAddr("203.0.113.7"),
	UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
}

func resubmitChallenge(b Binding) Challenge {
	return Challenge{Binding: b, Phase: PhaseResubmit, Return: "/api/login", Reasons: []string{"engine_challenge"}}
}

func mustIssue(t testing.TB, is *Issuer, c Challenge) (string, State) {
	t.Helper()
	tok, st, err := is.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok, st
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := ReasonOf(err); got != reason {
		t.Fatalf("reason = %q (err %v), want %q", got, err, reason)
	}
}
