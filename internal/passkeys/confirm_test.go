package passkeys

import (
	"context"
	"strings"
	"testing"
)

// confirm runs BeginConfirm and FinishConfirm with authenticator a and
// returns the confirmation (or the refusal).
func confirm(t *testing.T, pk *Passkeys, a *softAuthn, proofs ...Proof) (ConfirmProof, error) {
	t.Helper()
	ctx := context.Background()
	opts, id, err := pk.BeginConfirm(ctx, proofs...)
	if err != nil {
		return ConfirmProof{}, err
	}
	tok, err := pk.FinishConfirm(ctx, id, post(a.Get(opts, 1)), proofs...)
	return ConfirmProof{Token: tok}, err
}

// TestSecondPasskeyNeedsTheFirst: a clean sign-in registers an account's
// first passkey; another only once one of the account's passkeys confirms
// it. Whoever has only the password and gets one clean sign-in can no
// longer put their own authenticator beside the owner's.
func TestSecondPasskeyNeedsTheFirst(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, f.pk, owner, session)

	// The attacker's clean sign-in alone.
	_, err := f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	_, _, err = f.pk.BeginRegistration(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)

	// The attacker's own authenticator cannot confirm, even naming the
	// owner's credential.
	attacker := *newSoftAuthn(t, origin)
	attacker.CredentialID = owner.CredentialID
	_, err = confirm(t, f.pk, &attacker, session)
	wantReason(t, err, ReasonInvalidResponse)

	// A confirmation for another account, or an expired one, does not count.
	_, err = f.pk.MayEnroll(ctx, session, f.confirmed(t, "bob"))
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	old := f.confirmed(t, "alice")
	f.clk.Advance(ConfirmTTL + 1)
	_, err = f.pk.MayEnroll(ctx, cleanLogin("alice", f.clk.Now()), old)
	wantReason(t, err, ReasonEnrolNeedsPasskey)

	// The owner confirms with their passkey, then adds a second.
	session = cleanLogin("alice", f.clk.Now())
	conf, err := confirm(t, f.pk, owner, session)
	if err != nil {
		t.Fatal(err)
	}
	register(t, f.pk, newSoftAuthn(t, origin), session, conf)
	if creds, _ := f.pk.Credentials(ctx, "alice"); len(creds) != 2 {
		t.Fatalf("%d passkeys, want 2", len(creds))
	}

	// An admin's enrolment link needs no confirmation (a lost device).
	tok, err := f.pk.IssueEnrolToken("alice", MaxEnrolTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	register(t, f.pk, newSoftAuthn(t, origin), EnrolTokenProof{Token: tok})
}

// TestConfirmRefusals: a confirmation is begun and finished only with a
// sign-in that could enrol on its own terms, never during a step-up, and
// only for an account that has a passkey; its ceremony finishes nothing
// else, and no other ceremony finishes it.
func TestConfirmRefusals(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	session := cleanLogin("alice", t0)

	_, _, err := f.pk.BeginConfirm(ctx, session, StepUpProof{User: "alice"})
	wantReason(t, err, ReasonEnrolDuringChallenge)
	_, _, err = f.pk.BeginConfirm(ctx, SessionProof{User: "alice", Challenged: true, UpstreamAccepted: true, LoginAt: t0})
	wantReason(t, err, ReasonEnrolChallengedLogin)
	tok, _ := f.pk.IssueEnrolToken("alice", MaxEnrolTokenTTL)
	_, _, err = f.pk.BeginConfirm(ctx, EnrolTokenProof{Token: tok})
	wantReason(t, err, ReasonEnrolNoProof)
	_, _, err = f.pk.BeginConfirm(ctx, cleanLogin("carol", t0))
	wantReason(t, err, ReasonNoCredentials)

	// A confirmation's ceremony does not finish a step-up's login...
	opts, id, err := f.pk.BeginConfirm(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishLogin(ctx, id, "alice", post(a.Get(opts, 2)))
	wantReason(t, err, ReasonCeremonyMismatch)
	// ...nor a login's a confirmation.
	opts, id, err = f.pk.BeginLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishConfirm(ctx, id, post(a.Get(opts, 3)), session)
	wantReason(t, err, ReasonCeremonyMismatch)
	// A confirmation begun for alice does not finish under bob's sign-in.
	opts, id, err = f.pk.BeginConfirm(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("bob", t0))
	_, err = f.pk.FinishConfirm(ctx, id, post(a.Get(opts, 4)), cleanLogin("bob", t0))
	wantReason(t, err, ReasonCeremonyMismatch)
}

// TestPasskeyAddedMeanwhile: a registration begun by a sign-in alone while
// the account had no passkey is refused at its finish if one was added in
// the meantime (checked under the account's lock).
func TestPasskeyAddedMeanwhile(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	session := cleanLogin("alice", t0)
	late := newSoftAuthn(t, origin)
	opts, id, err := f.pk.BeginRegistration(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	register(t, f.pk, newSoftAuthn(t, origin), session)
	_, err = f.pk.FinishRegistration(ctx, id, post(late.Create(opts)), session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
}

// TestSpellingsShareOneAccount: with a UserKey that folds names, "ALICE"
// is alice's account: its sign-in needs alice's passkey to add one, and a
// confirmation for one spelling counts for the other.
func TestSpellingsShareOneAccount(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UserKey = func(u string) string { return defaultUserKey(strings.ToLower(u)) } })
	ctx := context.Background()
	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("alice", t0))
	_, err := f.pk.MayEnroll(ctx, cleanLogin("ALICE", t0))
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	if _, err := f.pk.MayEnroll(ctx, cleanLogin("ALICE", t0), f.confirmed(t, "Alice")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.pk.HasCredentials(ctx, "Alice"); !ok {
		t.Fatal("the passkey is not found under another spelling")
	}
}

// TestLegacyRecordsAreRead: a record kept under LegacyUserKey (the key of
// a release before names were folded) is found, and written back under
// UserKey.
func TestLegacyRecordsAreRead(t *testing.T) {
	f := newFixture(t, nil) // keys names as typed, as before
	ctx := context.Background()
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("Alice", t0))
	folded := f.instance(t, func(c *Config) {
		c.UserKey = func(u string) string { return defaultUserKey(strings.ToLower(u)) }
		c.LegacyUserKey = defaultUserKey
	})
	if ok, err := folded.HasCredentials(ctx, "Alice"); err != nil || !ok {
		t.Fatalf("legacy record not found: %v %v", ok, err)
	}
	if _, err := login(t, folded, a, "Alice", 1); err != nil {
		t.Fatal(err)
	}
	// The login's sign count went to the folded key: found under any spelling.
	if ok, err := folded.HasCredentials(ctx, "ALICE"); err != nil || !ok {
		t.Fatalf("record not written back under the folded key: %v %v", ok, err)
	}
}
