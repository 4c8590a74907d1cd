package stepup

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
	"github.com/login-guard/login_guard/rules"
)

func TestStateRoundTrip(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	ref, err := held.PutRequest(Owner{}, Request{Method: "POST", URL: "/api/login"})
	if err != nil {
		t.Fatal(err)
	}
	c := Challenge{
		Binding: alice, Phase: PhaseBefore, Return: "/api/login?next=%2Fhome", Held: ref,
		Reasons:      []string{"engine_challenge", "device_missing"},
		Correlations: []rules.Correlation{{Engine: "smartid", ID: "sess-1", Detail: map[string]string{"method": "otp"}}},
	}
	tok, issued := mustIssue(t, is, c)
	if strings.Contains(tok, "alice") || strings.Contains(tok, "smartid") {
		t.Fatal("token reveals its claims")
	}
	got, err := is.Verify(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || got.Route != "login" || got.IPPrefix != "203.0.113.7/32" ||
		got.Handle != ref.Handle || string(got.Key) != string(ref.Key) || got.Phase != PhaseBefore ||
		got.Return != c.Return || len(got.Reasons) != 2 || got.Correlations[0].Detail["method"] != "otp" ||
		!got.Issued.Equal(t0) || got.UAHash != AgentHash(alice.UserAgent) {
		t.Fatalf("state = %+v", got)
	}
	if got.Handle != issued.Handle {
		t.Fatal("Issue returned a different state than the token holds")
	}
	// Verify does not spend the state.
	if _, err := is.Verify(tok, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := is.Redeem(tok, alice); err != nil {
		t.Fatal(err)
	}
}

func TestStateRefusals(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 0x01
	other := newIssuer(t, clk, IPPrefix{})
	foreign, _ := mustIssue(t, other, resubmitChallenge(alice))
	pass, _ := is.IssuePass(State{User: "alice", Route: "login", Handle: "h", IPPrefix: "203.0.113.7/32", UAHash: AgentHash(alice.UserAgent)})

	with := func(f func(*Binding)) Binding { b := alice; f(&b); return b }
	cases := []struct {
		name, token, reason string
		b                   Binding
	}{
		{"missing", "", ReasonMissing, alice},
		{"tampered", string(tampered), ReasonTampered, alice},
		{"garbage", "not.a.token", ReasonTampered, alice},
		{"other keyset", foreign, ReasonTampered, alice},
		{"pass used as state", pass, ReasonTampered, alice},
		{"other IP", tok, ReasonIPMismatch, with(func(b *Binding) { b.IP = netip.MustParseAddr("203.0.113.8") })},
		{"no IP", tok, ReasonIPMismatch, with(func(b *Binding) { b.IP = netip.Addr{} })},
		{"IPv6 client", tok, ReasonIPMismatch, with(func(b *Binding) { b.IP = netip.MustParseAddr("2001:db8::7") })},
		{"other agent", tok, ReasonAgentMismatch, with(func(b *Binding) { b.UserAgent += " evil" })},
		{"other route", tok, ReasonRouteMismatch, with(func(b *Binding) { b.Route = "transfer" })},
		{"other user", tok, ReasonUserMismatch, with(func(b *Binding) { b.User = "bob" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := is.Verify(c.token, c.b)
			wantReason(t, err, c.reason)
			if !errors.Is(err, ErrRefused) {
				t.Fatal("refusal does not wrap ErrRefused")
			}
			if strings.Contains(err.Error(), "alice") || (c.token != "" && strings.Contains(err.Error(), c.token)) {
				t.Fatalf("error leaks input: %v", err)
			}
		})
	}
}

func TestStateMappedIPv4Matches(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	b := alice
	b.IP = netip.MustParseAddr("::ffff:203.0.113.7")
	if _, err := is.Verify(tok, b); err != nil {
		t.Fatalf("IPv4-mapped form of the same address refused: %v", err)
	}
}

func TestStateOptionalUserAndRoute(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	b := alice
	b.User, b.Route = "", ""
	st, err := is.Verify(tok, b)
	if err != nil || st.User != "alice" {
		t.Fatalf("completion without a known user/route: %+v, %v", st, err)
	}
}

func TestStateExpired(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	clk.Advance(DefaultStateTTL - time.Second)
	if _, err := is.Verify(tok, alice); err != nil {
		t.Fatalf("refused before its TTL: %v", err)
	}
	clk.Advance(time.Second)
	_, err := is.Verify(tok, alice)
	wantReason(t, err, ReasonExpired)
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonExpired)
}

func TestStateReplayed(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.Redeem(tok, alice); err != nil {
		t.Fatal(err)
	}
	_, err := is.Redeem(tok, alice)
	wantReason(t, err, ReasonReplayed)
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonReplayed)
}

func TestStateRedeemRefusedKeepsStateUnspent(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	b := alice
	b.UserAgent = "curl/8"
	_, err := is.Redeem(tok, b)
	wantReason(t, err, ReasonAgentMismatch)
	if _, err := is.Redeem(tok, alice); err != nil {
		t.Fatalf("a refused attempt from another agent must not burn the user's state: %v", err)
	}
}

func TestStateIPPrefixForMobileNetworks(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{V4Bits: 24, V6Bits: 48})
	tok, st := mustIssue(t, is, resubmitChallenge(alice))
	if st.IPPrefix != "203.0.113.0/24" {
		t.Fatalf("prefix = %s", st.IPPrefix)
	}
	cases := []struct {
		ip string
		ok bool
	}{
		{"203.0.113.200", true},
		{"203.0.114.7", false},
	}
	for _, c := range cases {
		b := alice
		b.IP = netip.MustParseAddr(c.ip)
		_, err := is.Verify(tok, b)
		if c.ok && err != nil {
			t.Errorf("%s refused: %v", c.ip, err)
		}
		if !c.ok {
			wantReason(t, err, ReasonIPMismatch)
		}
	}

	b6 := alice
	b6.IP = netip.MustParseAddr("2001:db8:aa:1::5")
	tok6, st6 := mustIssue(t, is, resubmitChallenge(b6))
	if st6.IPPrefix != "2001:db8:aa::/48" {
		t.Fatalf("v6 prefix = %s", st6.IPPrefix)
	}
	b6.IP = netip.MustParseAddr("2001:db8:aa:ffff::9")
	if _, err := is.Verify(tok6, b6); err != nil {
		t.Fatalf("same /48 refused: %v", err)
	}
}

func TestDefaultIPv6PrefixIs64(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	b := alice
	b.IP = netip.MustParseAddr("2001:db8:1:2:3:4:5:6")
	tok, st := mustIssue(t, is, resubmitChallenge(b))
	if st.IPPrefix != "2001:db8:1:2::/64" {
		t.Fatalf("prefix = %s", st.IPPrefix)
	}
	b.IP = netip.MustParseAddr("2001:db8:1:2:ffff::1")
	if _, err := is.Verify(tok, b); err != nil {
		t.Fatal(err)
	}
	b.IP = netip.MustParseAddr("2001:db8:1:3::1")
	_, err := is.Verify(tok, b)
	wantReason(t, err, ReasonIPMismatch)
}

func TestIssueValidates(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	ref := Ref{Handle: "h", Key: make([]byte, heldKeyLen)}
	noIP := alice
	noIP.IP = netip.Addr{}
	cases := []struct {
		name string
		c    Challenge
	}{
		{"open redirect return", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "//evil.example"}},
		{"absolute return", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "https://evil.example/"}},
		{"before without held", Challenge{Binding: alice, Phase: PhaseBefore, Return: "/login"}},
		{"resubmit with held", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "/login", Held: ref}},
		{"unknown phase", Challenge{Binding: alice, Phase: "later", Return: "/login"}},
		{"no IP", Challenge{Binding: noIP, Phase: PhaseResubmit, Return: "/login"}},
		{"return outside the cookie domain", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "https://evil.example/login", Domain: "example.com"}},
		{"return on a look-alike host", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "https://notexample.com/login", Domain: "example.com"}},
		{"plain http return across hosts", Challenge{Binding: alice, Phase: PhaseResubmit, Return: "http://app.example.com/login", Domain: "example.com"}},
	}
	for _, c := range cases {
		if _, _, err := is.Issue(c.c); err == nil {
			t.Errorf("%s: issued", c.name)
		}
	}
	// The step-up on another host sends the browser back to the login's
	// host within the shared domain.
	if _, st, err := is.Issue(Challenge{Binding: alice, Phase: PhaseResubmit, Return: "https://app.example.com:8443/login?x=1", Domain: "example.com"}); err != nil || st.Domain != "example.com" {
		t.Fatalf("a return within the cookie domain: %v %+v", err, st)
	}
}

func TestIssueDropsCorrelationDetailsToFitACookie(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	big := map[string]string{"blob": strings.Repeat("x", 3000)} // over MaxTokenBytes once sealed
	c := resubmitChallenge(alice)
	c.Correlations = []rules.Correlation{{Engine: "forter", ID: "corr-9", Detail: big}}
	tok, st, err := is.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > MaxTokenBytes {
		t.Fatalf("token %d bytes", len(tok))
	}
	if st.Correlations[0].ID != "corr-9" || st.Correlations[0].Detail != nil {
		t.Fatalf("correlations = %+v", st.Correlations)
	}
	if c.Correlations[0].Detail == nil {
		t.Fatal("caller's correlations were modified")
	}

	c.Reasons = []string{strings.Repeat("r", 4000)}
	if _, _, err := is.Issue(c); err == nil {
		t.Fatal("a state too large for a cookie was issued")
	}
}

func TestNewIssuerConfig(t *testing.T) {
	if _, err := NewIssuer(Config{}); err == nil {
		t.Fatal("no keys accepted")
	}
	if _, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), IPPrefix: IPPrefix{V4Bits: 33}}); err == nil {
		t.Fatal("/33 accepted")
	}
	if _, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), IPPrefix: IPPrefix{V6Bits: 8}}); err == nil {
		t.Fatal("IPv6 /8 accepted")
	}
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0)})
	if err != nil {
		t.Fatal(err)
	}
	if is.StateTTL() != DefaultStateTTL || is.ContinueTTL() != DefaultContinueTTL || is.PassTTL() != DefaultPassTTL {
		t.Fatal("defaults not applied")
	}
}

// TestFactorFailuresSpendTheState: the third refused factor spends the
// state (default), so guesses are bounded; other states are unaffected.
func TestFactorFailuresSpendTheState(t *testing.T) {
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, st := mustIssue(t, is, resubmitChallenge(alice))
	other, _ := mustIssue(t, is, resubmitChallenge(alice))
	for i := 1; i < DefaultMaxFailures; i++ {
		if err := is.FailFactor(st); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
		if _, err := is.Verify(tok, alice); err != nil {
			t.Fatalf("after %d failures the state must still open: %v", i, err)
		}
	}
	wantReason(t, is.FailFactor(st), ReasonFactorsExhausted)
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonReplayed)
	if _, err := is.Verify(other, alice); err != nil {
		t.Fatalf("another state is untouched: %v", err)
	}
}

// TestLifetimeBounds: lifetimes outside their bounds are refused, and a
// shortened state lifetime is honoured.
func TestLifetimeBounds(t *testing.T) {
	for _, c := range []Config{
		{StateTTL: MinStateTTL - time.Second},
		{StateTTL: MaxStateTTL + time.Second},
		{ContinueTTL: MinContinueTTL - time.Second},
		{ContinueTTL: MaxContinueTTL + time.Second},
		{MaxFailures: MaxMaxFailures + 1},
	} {
		c.Keys = testkeys.Keyset(t, t0)
		if _, err := NewIssuer(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Now: clk.Now, StateTTL: MinStateTTL})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	clk.Advance(MinStateTTL + time.Second)
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonExpired)
}

// TestFactorFailuresBoundedWhenTheSpentSetIsFull: a state whose refused
// factors reach the limit while the spent set is full (so it cannot be
// recorded as spent) is still refused from then on: its count stays, and
// opening a state asks it. Guesses never become unlimited.
func TestFactorFailuresBoundedWhenTheSpentSetIsFull(t *testing.T) {
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Used: NewUsedSet(1), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	filler, _ := mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.Redeem(filler, alice); err != nil { // the one slot
		t.Fatal(err)
	}
	tok, st := mustIssue(t, is, resubmitChallenge(alice))
	for i := 1; i < DefaultMaxFailures; i++ {
		if err := is.FailFactor(st); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// The last refusal cannot spend the state: it is refused as full.
	wantReason(t, is.FailFactor(st), ReasonReplayFull)
	for range 5 {
		_, err := is.Verify(tok, alice)
		wantReason(t, err, ReasonFactorsExhausted)
		_, err = is.Redeem(tok, alice)
		wantReason(t, err, ReasonFactorsExhausted)
		// Another refused factor does not start the count again.
		if err := is.FailFactor(st); err == nil {
			t.Fatal("a refused factor past the limit was allowed")
		}
	}
}

// TestStateRefusedWhenNoFailureCanBeCounted: with the refused-factor set
// full, a state it holds no count for is not tried at all (a factor could
// be guessed without being counted); the answer is "unavailable".
func TestStateRefusedWhenNoFailureCanBeCounted(t *testing.T) {
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Failures: NewFailureSet(1), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, first := mustIssue(t, is, resubmitChallenge(alice))
	if err := is.FailFactor(first); err != nil { // the one slot
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonReplayFull)
	// Once the first state's count expires, there is room again.
	clk.Advance(MaxStateTTL + 2*time.Second)
	tok, _ = mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.Verify(tok, alice); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
