package passkeys

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// link is a fresh enrolment link's proof for user.
func (f *fixture) link(t *testing.T, user string) EnrolTokenProof {
	t.Helper()
	tok, err := f.pk.IssueEnrolToken(user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return EnrolTokenProof{Token: tok}
}

func wantLinkRequired(t *testing.T, pk *Passkeys, user string, want bool) {
	t.Helper()
	got, err := pk.EnrolLinkRequired(context.Background(), user)
	if err != nil || got != want {
		t.Fatalf("EnrolLinkRequired(%s) = %v, %v; want %v", user, got, err, want)
	}
}

// TestLastPasskeyRemovedNeedsEnrolLink: an admin removal that leaves
// other passkeys marks nothing (a further one needs their confirmation);
// removing the last one marks the account, and a clean sign-in no longer
// registers a passkey or a LoginID record for it (enrol_needs_link, not a
// request for a confirmation) until an enrolment link registers one,
// which clears the mark.
func TestLastPasskeyRemovedNeedsEnrolLink(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	first, second := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, f.pk, first, session)
	register(t, f.pk, second, session, confirmWith(t, f.pk, first, 1, session))

	if err := f.pk.RemoveCredential(ctx, "alice", first.CredentialID); err != nil {
		t.Fatal(err)
	}
	wantLinkRequired(t, f.pk, "alice", false)
	_, err := f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)

	if err := f.pk.RemoveCredential(ctx, "alice", second.CredentialID); err != nil {
		t.Fatal(err)
	}
	wantLinkRequired(t, f.pk, "alice", true)
	_, err = f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	if NeedsConfirmation(err) {
		t.Fatal("enrol_needs_link asks for a confirmation no passkey can give")
	}
	_, _, err = f.pk.BeginRegistration(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	_, err = f.pk.MayRegisterLoginID(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	_, err = f.pk.RecordLoginID(ctx, "alice", "", session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	// A confirmation by a removed passkey is refused for what it is.
	_, err = f.pk.MayEnroll(ctx, session, f.confirmedBy(t, "alice", second.CredentialID))
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	// Survives a reload or another instance on the same storage.
	_, err = f.instance(t, nil).MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	if creds, _ := f.pk.Credentials(ctx, "alice"); len(creds) != 0 {
		t.Fatalf("%d passkeys registered while marked", len(creds))
	}

	// The link registers one (the sign-in riding along does not), and
	// clears the mark; a further passkey needs the new one's confirmation.
	owner := newSoftAuthn(t, origin)
	if reg := register(t, f.pk, owner, session, f.link(t, "alice")); !reg.ViaToken {
		t.Fatalf("registered %+v, want through the link", reg)
	}
	wantLinkRequired(t, f.pk, "alice", false)
	_, err = f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	register(t, f.pk, newSoftAuthn(t, origin), session, confirmWith(t, f.pk, owner, 1, session))
}

// confirmedBy is a confirmation naming the passkey id that made it.
func (f *fixture) confirmedBy(t *testing.T, user string, id []byte) ConfirmProof {
	t.Helper()
	tok, err := f.keys.Seal(PurposeEnrolConfirm, confirmClaims{User: user, Credential: id}, f.clk.Now(), ConfirmTTL)
	if err != nil {
		t.Fatal(err)
	}
	return ConfirmProof{Token: tok}
}

// TestLastPasskeyRemovedDuringARegistration: a registration begun before
// the last passkey was removed (with a confirmation sealed by the release
// before, which names no passkey and is taken without a look-up) is
// refused at its finish, under the account's lock.
func TestLastPasskeyRemovedDuringARegistration(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	stolen := newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, f.pk, stolen, session)
	old := f.confirmed(t, "alice")
	opts, id, err := f.pk.BeginRegistration(ctx, session, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pk.RemoveCredential(ctx, "alice", stolen.CredentialID); err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.FinishRegistration(ctx, id, post(newSoftAuthn(t, origin).Create(opts)), session, old)
	wantReason(t, err, ReasonEnrolNeedsLink)
	if creds, _ := f.pk.Credentials(ctx, "alice"); len(creds) != 0 {
		t.Fatalf("%d passkeys, want none", len(creds))
	}
}

// TestCloneMarkedLastPasskeyRemoved: a passkey marked as cloned is
// refused but stored, so the account still needs a confirmation (which
// the marked one cannot give); removing it, the last one, marks the
// account as any last removal does.
func TestCloneMarkedLastPasskeyRemoved(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a := newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, f.pk, a, session)
	if _, err := login(t, f.pk, a, "alice", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, f.pk, a, "alice", 3); ReasonOf(err) != ReasonCloneWarning {
		t.Fatalf("a sign count gone backwards: %v", err)
	}
	_, err := f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	wantLinkRequired(t, f.pk, "alice", false)
	if err := f.pk.RemoveCredential(ctx, "alice", a.CredentialID); err != nil {
		t.Fatal(err)
	}
	wantLinkRequired(t, f.pk, "alice", true)
	_, err = f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
}

// TestLoginIDRemovalNeedsEnrolLink: removing the LoginID record of an
// account with no passkey marks it as a last passkey's removal does: a
// sign-in registers neither a LoginID record nor a passkey until a link
// registers one (here the LoginID record), which clears the mark. An
// account with a passkey is not marked (its passkey must confirm), nor is
// one whose record was never there; an import does not clear the mark.
func TestLoginIDRemovalNeedsEnrolLink(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	session := cleanLogin("bob", t0)
	if _, err := f.pk.RecordLoginID(ctx, "bob", "", session); err != nil {
		t.Fatal(err)
	}
	if removed, err := f.pk.RemoveLoginID(ctx, "bob"); !removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	wantLinkRequired(t, f.pk, "bob", true)
	_, err := f.pk.MayRegisterLoginID(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	_, err = f.pk.RecordLoginID(ctx, "bob", "", session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	_, _, err = f.pk.BeginRegistration(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)

	if _, _, err := f.pk.ImportLoginID(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	wantLinkRequired(t, f.pk, "bob", true)
	if _, err := f.pk.RemoveLoginID(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	r, err := f.pk.RecordLoginID(ctx, "bob", "", session, f.link(t, "bob"))
	if err != nil || r.Via != LoginIDViaEnrolLink {
		t.Fatalf("through the link: %+v %v", r, err)
	}
	wantLinkRequired(t, f.pk, "bob", false)
	// The first passkey beside the LoginID record needs a link too
	// (TestLoginIDRecordNeedsLinkForAPasskey).
	register(t, f.pk, newSoftAuthn(t, origin), session, f.link(t, "bob"))

	// With a passkey, the removal marks nothing.
	if _, err := f.pk.RemoveLoginID(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	wantLinkRequired(t, f.pk, "bob", false)
	_, err = f.pk.MayRegisterLoginID(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	// Nothing to remove: nothing marked.
	if removed, err := f.pk.RemoveLoginID(ctx, "carol"); removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	wantLinkRequired(t, f.pk, "carol", false)
}

// TestEnrolLinkRequiredRecordFormat: records written before the mark load
// unmarked, an unmarked record is written without the field, and a marked
// one with it.
func TestEnrolLinkRequiredRecordFormat(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	key := f.pk.recordKey("alice")
	raw, _ := f.store.Load(ctx, key)
	if bytes.Contains(raw, []byte("enrol_link_required")) {
		t.Fatalf("an unmarked record names the mark: %s", raw)
	}
	// So it is what the release before wrote, and loads unmarked.
	wantLinkRequired(t, f.pk, "alice", false)

	if err := f.pk.RemoveCredential(ctx, "alice", a.CredentialID); err != nil {
		t.Fatal(err)
	}
	raw, _ = f.store.Load(ctx, key)
	if !bytes.Contains(raw, []byte(`"enrol_link_required":true`)) {
		t.Fatalf("a marked record: %s", raw)
	}
	register(t, f.pk, newSoftAuthn(t, origin), f.link(t, "alice"))
	raw, _ = f.store.Load(ctx, key)
	if bytes.Contains(raw, []byte("enrol_link_required")) {
		t.Fatalf("the mark stays after the link: %s", raw)
	}
}

// TestSetEnrolLinkRequired: the operator sets the mark (on an account
// with no record too, which creates one) and clears it; set, it refuses a
// sign-in's enrolment even with a passkey's confirmation; cleared, the
// account enrols under the ordinary rule.
func TestSetEnrolLinkRequired(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	session := cleanLogin("dave", t0)
	if changed, err := f.pk.SetEnrolLinkRequired(ctx, "dave", false); changed || err != nil {
		t.Fatalf("clear an unmarked account: %v %v", changed, err)
	}
	if keys := f.store.keys(); len(keys) != 0 {
		t.Fatalf("clearing wrote %v", keys)
	}
	if changed, err := f.pk.SetEnrolLinkRequired(ctx, "dave", true); !changed || err != nil {
		t.Fatalf("set: %v %v", changed, err)
	}
	if changed, err := f.pk.SetEnrolLinkRequired(ctx, "dave", true); changed || err != nil {
		t.Fatalf("set again: %v %v", changed, err)
	}
	wantLinkRequired(t, f.pk, "dave", true)
	_, err := f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
	if changed, err := f.pk.SetEnrolLinkRequired(ctx, "dave", false); !changed || err != nil {
		t.Fatalf("clear: %v %v", changed, err)
	}
	a := newSoftAuthn(t, origin)
	register(t, f.pk, a, session)

	// Set on an account with a passkey: its confirmation does not do.
	if _, err := f.pk.SetEnrolLinkRequired(ctx, "dave", true); err != nil {
		t.Fatal(err)
	}
	_, err = f.pk.MayEnroll(ctx, session, confirmWith(t, f.pk, a, 1, session))
	wantReason(t, err, ReasonEnrolNeedsLink)
	register(t, f.pk, newSoftAuthn(t, origin), f.link(t, "dave"))
	wantLinkRequired(t, f.pk, "dave", false)
}
