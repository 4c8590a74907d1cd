package stepup

import (
	"bytes"
	"errors"
	"testing"
)

// passkeyDigest stands for a passkeys.CredentialDigest (16 bytes).
var passkeyDigest = bytes.Repeat([]byte{0xa5}, 16)

// TestContinuationCarriesThePasskey: the continuation and the resubmit
// pass carry the passkey that passed (State.Passkey) to the check that
// spends them; a token without one carries nothing (the check passes it).
// The digest adds little to the cookie.
func TestContinuationCarriesThePasskey(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	tok, _ := mustIssue(t, is, heldChallenge(t, held, alice))
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	st.Passkey = passkeyDigest
	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	if grown := len(cont) - len(plain); grown > 64 {
		t.Fatalf("the passkey digest grew the continuation by %d bytes", grown)
	}
	var seen []byte
	check := func(st State) error { seen = st.Passkey; return nil }
	if _, err := is.ConsumeContinuation(cont, alice, check); err != nil || !bytes.Equal(seen, passkeyDigest) {
		t.Fatalf("continuation: %v, the check saw %x", err, seen)
	}
	other, err := is.Redeem(mustIssueTok(t, is, heldChallenge(t, held, alice)), alice)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err = is.IssueContinuation(other); err != nil {
		t.Fatal(err)
	}
	seen = []byte("unset")
	if _, err := is.ConsumeContinuation(plain, alice, check); err != nil || seen != nil {
		t.Fatalf("continuation naming no passkey: %v, the check saw %x", err, seen)
	}

	rs, err := is.Redeem(mustIssueTok(t, is, resubmitChallenge(alice)), alice)
	if err != nil {
		t.Fatal(err)
	}
	rs.Passkey = passkeyDigest
	pass, err := is.IssuePass(rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.ConsumePass(pass, alice, check); err != nil || !bytes.Equal(seen, passkeyDigest) {
		t.Fatalf("pass: %v, the check saw %x", err, seen)
	}
}

// TestFactorCheckSpends: a check's refusal (the passkey removed) spends
// the continuation or pass, which is refused with it and then as
// replayed; a check that could not decide (the passkey storage down, or
// another failure) leaves it unspent, so it finishes, once, when the
// check passes.
func TestFactorCheckSpends(t *testing.T) {
	clk := newClock()
	is := newIssuer(t, clk, IPPrefix{})
	held := NewHeld(HeldConfig{Now: clk.Now})
	removed := func(State) error { return Refused(ReasonPasskeyRemoved) }
	storageDown := func(State) error { return Refused(ReasonPasskeyStorageUnavailable) }
	broken := errors.New("decoding stored record")
	failing := func(State) error { return broken }
	stands := func(State) error { return nil }

	issueCont := func() string {
		st, err := is.Redeem(mustIssueTok(t, is, heldChallenge(t, held, alice)), alice)
		if err != nil {
			t.Fatal(err)
		}
		st.Passkey = passkeyDigest
		cont, err := is.IssueContinuation(st)
		if err != nil {
			t.Fatal(err)
		}
		return cont
	}
	issuePass := func() string {
		st, err := is.Redeem(mustIssueTok(t, is, resubmitChallenge(alice)), alice)
		if err != nil {
			t.Fatal(err)
		}
		st.Passkey = passkeyDigest
		pass, err := is.IssuePass(st)
		if err != nil {
			t.Fatal(err)
		}
		return pass
	}
	consumers := map[string]struct {
		issue   func() string
		consume func(string, FactorCheck) (State, error)
	}{
		"continuation": {issueCont, func(tok string, c FactorCheck) (State, error) { return is.ConsumeContinuation(tok, alice, c) }},
		"pass":         {issuePass, func(tok string, c FactorCheck) (State, error) { return is.ConsumePass(tok, alice, c) }},
	}
	for name, k := range consumers {
		tok := k.issue()
		_, err := k.consume(tok, removed)
		wantReason(t, err, ReasonPasskeyRemoved)
		if Unspent(err) {
			t.Errorf("%s: a removed passkey's refusal reads as unspent", name)
		}
		_, err = k.consume(tok, stands)
		wantReason(t, err, ReasonReplayed)

		tok = k.issue()
		_, err = k.consume(tok, storageDown)
		wantReason(t, err, ReasonPasskeyStorageUnavailable)
		if !Unspent(err) {
			t.Errorf("%s: the passkey storage down reads as spent", name)
		}
		if _, err := k.consume(tok, failing); !errors.Is(err, broken) {
			t.Errorf("%s: a failing check: %v", name, err)
		}
		if _, err := k.consume(tok, stands); err != nil {
			t.Errorf("%s: once the check passes: %v", name, err)
		}
		_, err = k.consume(tok, stands)
		wantReason(t, err, ReasonReplayed)
	}
}

func mustIssueTok(t testing.TB, is *Issuer, c Challenge) string {
	t.Helper()
	tok, _ := mustIssue(t, is, c)
	return tok
}
