package stepup

import (
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

func heldChallenge(t *testing.T, held *Held, b Binding) Challenge {
	t.Helper()
	ref, err := held.PutRequest(Owner{}, Request{Method: "POST", URL: "/api/login", Body: []byte("user=alice&password=s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	return Challenge{Binding: b, Phase: PhaseBefore, Return: "/api/login", Held: ref}
}

func TestContinuationOneUse(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	tok, _ := mustIssue(t, is, heldChallenge(t, held, alice))
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	// A continuation is not a state and a state is not a continuation.
	_, err = is.Verify(cont, alice)
	wantReason(t, err, ReasonTampered)
	_, err = is.ConsumeContinuation(tok, alice, nil)
	wantReason(t, err, ReasonTampered)

	got, err := is.ConsumeContinuation(cont, alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Handle != st.Handle || string(got.Key) != string(st.Key) || got.Phase != PhaseBefore {
		t.Fatalf("continuation = %+v", got)
	}
	_, err = is.ConsumeContinuation(cont, alice, nil)
	wantReason(t, err, ReasonReplayed)
}

func TestContinuationRefusals(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	tok, _ := mustIssue(t, is, heldChallenge(t, held, alice))
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Binding)) Binding { b := alice; f(&b); return b }
	cases := []struct {
		name, reason string
		b            Binding
	}{
		{"no route", ReasonRouteMismatch, with(func(b *Binding) { b.Route = "" })},
		{"other route", ReasonRouteMismatch, with(func(b *Binding) { b.Route = "transfer" })},
		{"other IP", ReasonIPMismatch, with(func(b *Binding) { b.IP = netip.MustParseAddr("198.51.100.1") })},
		{"other agent", ReasonAgentMismatch, with(func(b *Binding) { b.UserAgent = "x" })},
	}
	for _, c := range cases {
		_, err := is.ConsumeContinuation(cont, c.b, nil)
		if ReasonOf(err) != c.reason {
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
	}
	clk.Advance(DefaultContinueTTL)
	_, err = is.ConsumeContinuation(cont, alice, nil)
	wantReason(t, err, ReasonExpired)
}

func TestContinuationNeedsHeldEntry(t *testing.T) {
	is := newIssuer(t, newClock(), IPPrefix{})
	_, st := mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.IssueContinuation(st); err == nil {
		t.Fatal("continuation issued for a resubmit state")
	}
}

func TestPassOneUseAndBound(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := is.IssuePass(st)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Binding)) Binding { b := alice; f(&b); return b }
	for _, c := range []struct {
		name, reason string
		b            Binding
	}{
		{"other user", ReasonUserMismatch, with(func(b *Binding) { b.User = "bob" })},
		{"no user", ReasonUserMismatch, with(func(b *Binding) { b.User = "" })},
		{"other route", ReasonRouteMismatch, with(func(b *Binding) { b.Route = "transfer" })},
		{"other IP", ReasonIPMismatch, with(func(b *Binding) { b.IP = netip.MustParseAddr("203.0.113.9") })},
		{"other agent", ReasonAgentMismatch, with(func(b *Binding) { b.UserAgent = "y" })},
	} {
		_, err := is.ConsumePass(pass, c.b, nil)
		if ReasonOf(err) != c.reason {
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
	}
	if _, err := is.ConsumeContinuation(pass, alice, nil); ReasonOf(err) != ReasonTampered {
		t.Fatalf("pass accepted as continuation: %v", err)
	}
	if _, err := is.ConsumePass(pass, alice, nil); err != nil {
		t.Fatal(err)
	}
	_, err = is.ConsumePass(pass, alice, nil)
	wantReason(t, err, ReasonReplayed)
}

func TestPassExpires(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	_, st := mustIssue(t, is, resubmitChallenge(alice))
	pass, err := is.IssuePass(st)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultPassTTL + time.Second)
	_, err = is.ConsumePass(pass, alice, nil)
	wantReason(t, err, ReasonExpired)
}

func TestSharedUsedSetSurvivesNewIssuer(t *testing.T) {
	clk := newClock()
	ks := testkeys.Keyset(t, t0)
	used := NewUsedSet(10)
	a, _ := NewIssuer(Config{Keys: ks, Used: used, Now: clk.Now})
	b, _ := NewIssuer(Config{Keys: ks, Used: used, Now: clk.Now})
	tok, _ := mustIssue(t, a, resubmitChallenge(alice))
	if _, err := a.Redeem(tok, alice); err != nil {
		t.Fatal(err)
	}
	_, err := b.Redeem(tok, alice)
	wantReason(t, err, ReasonReplayed)
}

func TestRedeemFailsClosedWhenUsedSetFull(t *testing.T) {
	clk := newClock()
	is, _ := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Used: NewUsedSet(1), Now: clk.Now})
	t1, _ := mustIssue(t, is, resubmitChallenge(alice))
	t2, _ := mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.Redeem(t1, alice); err != nil {
		t.Fatal(err)
	}
	_, err := is.Redeem(t2, alice)
	wantReason(t, err, ReasonReplayFull)
	// Once no state could still open (whatever lifetime a config gave
	// it), t1's slot is free again.
	clk.Advance(MaxStateTTL + time.Second)
	t3, _ := mustIssue(t, is, resubmitChallenge(alice))
	if _, err := is.Redeem(t3, alice); err != nil {
		t.Fatal(err)
	}
}

// TestContinuationAndPassBoundToLoginHost: every site of a Caddy shares
// the token keys and two sites' login routes may share a name (the default
// name of two alike routes): a continuation or a pass of a login to one
// host does not open on another host's login route.
func TestContinuationAndPassBoundToLoginHost(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	at := func(host string) Binding { b := alice; b.LoginHost = host; return b }

	c := heldChallenge(t, held, alice)
	c.Host = "a.example.com"
	tok, _ := mustIssue(t, is, c)
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = is.ConsumeContinuation(cont, at("b.example.com"), nil)
	wantReason(t, err, ReasonHostMismatch)
	if _, err := is.ConsumeContinuation(cont, at("A.example.com:443"), nil); err != nil {
		t.Fatal(err)
	}

	r := resubmitChallenge(alice)
	r.Host = "a.example.com"
	tok, _ = mustIssue(t, is, r)
	if st, err = is.Redeem(tok, alice); err != nil {
		t.Fatal(err)
	}
	pass, err := is.IssuePass(st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = is.ConsumePass(pass, at("b.example.com"), nil)
	wantReason(t, err, ReasonHostMismatch)
	if _, err := is.ConsumePass(pass, at("a.example.com"), nil); err != nil {
		t.Fatal(err)
	}
}
