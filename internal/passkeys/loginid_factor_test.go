package passkeys

import (
	"context"
	"testing"
)

// TestLoginIDRecordNeedsLinkForAPasskey: an account whose only way to
// confirm a sign-in is its LoginID record does not get a passkey from a
// sign-in alone (whoever has the password would add theirs and pass every
// passkey step-up after), only through an enrolment link; an account with
// no record at all still gets its first passkey from a clean sign-in.
func TestLoginIDRecordNeedsLinkForAPasskey(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	session := cleanLogin("bob", t0)
	if _, err := f.pk.RecordLoginID(ctx, "bob", "", session); err != nil {
		t.Fatal(err)
	}
	_, err := f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolLoginIDNeedsLink)
	_, _, err = f.pk.BeginRegistration(ctx, session)
	wantReason(t, err, ReasonEnrolLoginIDNeedsLink)
	// A second LoginID registration is told the account has one.
	_, err = f.pk.MayRegisterLoginID(ctx, session)
	wantReason(t, err, ReasonLoginIDRegistered)
	_, err = f.pk.RecordLoginID(ctx, "bob", "", session)
	wantReason(t, err, ReasonLoginIDRegistered)

	register(t, f.pk, newSoftAuthn(t, origin), session, f.link(t, "bob"))
	// From then on the passkey confirms, as on any account with one.
	_, err = f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)

	// An imported record counts as well.
	if _, _, err := f.pk.ImportLoginID(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.MayEnroll(ctx, cleanLogin("carol", t0))
	wantReason(t, err, ReasonEnrolLoginIDNeedsLink)

	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("dave", t0))
}

// TestLoginIDRecordedDuringPasskeyRegistration: a LoginID record written
// after a sign-in began registering a passkey (the proofs were checked
// when the account had nothing) stops that registration at its locked
// write, as a passkey added meanwhile would.
func TestLoginIDRecordedDuringPasskeyRegistration(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	session := cleanLogin("erin", t0)
	opts, id, err := f.pk.BeginRegistration(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pk.RecordLoginID(ctx, "erin", "", session); err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishRegistration(ctx, id, post(newSoftAuthn(t, origin).Create(opts)), session)
	wantReason(t, err, ReasonEnrolLoginIDNeedsLink)
}
