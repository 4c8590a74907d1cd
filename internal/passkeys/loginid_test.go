package passkeys

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A LoginID registration is recorded under the passkeys' enrolment rule:
// a clean sign-in or an enrolment link, never during a step-up, one per
// account.
func TestLoginIDRecordRule(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	clean := cleanLogin("alice", t0.Add(-time.Minute))

	for _, c := range []struct {
		name   string
		proofs []Proof
		reason string
	}{
		{"step-up pending", []Proof{clean, StepUpProof{User: "alice"}}, ReasonEnrolDuringChallenge},
		{"challenged login", []Proof{SessionProof{User: "alice", Challenged: true, UpstreamAccepted: true, LoginAt: t0}}, ReasonEnrolChallengedLogin},
		{"stale sign-in", []Proof{cleanLogin("alice", t0.Add(-time.Hour))}, ReasonEnrolStaleSession},
		{"no proof", nil, ReasonEnrolNoProof},
	} {
		if _, err := f.pk.MayRegisterLoginID(ctx, c.proofs...); ReasonOf(err) != c.reason {
			t.Fatalf("%s: MayRegisterLoginID: %v, want %s", c.name, err, c.reason)
		}
		if _, err := f.pk.RecordLoginID(ctx, "alice", "", c.proofs...); ReasonOf(err) != c.reason {
			t.Fatalf("%s: RecordLoginID: %v, want %s", c.name, err, c.reason)
		}
	}
	if ok, err := f.pk.LoginIDEnrolled(ctx, "alice"); ok || err != nil {
		t.Fatalf("enrolled after refusals: %v %v", ok, err)
	}

	user, err := f.pk.MayRegisterLoginID(ctx, clean)
	if err != nil || user != "alice" {
		t.Fatalf("clean sign-in: %q %v", user, err)
	}
	// The proofs name the user: a registration token for another is not
	// recorded under them.
	_, err = f.pk.RecordLoginID(ctx, "bob", "", clean)
	wantReason(t, err, ReasonCeremonyMismatch)
	r, err := f.pk.RecordLoginID(ctx, "alice", "sub-1", clean)
	if err != nil || r.User != "alice" || r.Via != LoginIDViaSignIn || r.Subject != "sub-1" || !r.At.Equal(t0) {
		t.Fatalf("record: %+v %v", r, err)
	}
	if ok, err := f.pk.LoginIDEnrolled(ctx, "alice"); !ok || err != nil {
		t.Fatalf("not enrolled after recording: %v %v", ok, err)
	}
	// One record per account.
	_, err = f.pk.MayRegisterLoginID(ctx, clean)
	wantReason(t, err, ReasonLoginIDRegistered)
	_, err = f.pk.RecordLoginID(ctx, "alice", "", clean)
	wantReason(t, err, ReasonLoginIDRegistered)
	// The record survives a new instance (a reload, a restart).
	if ok, _ := f.instance(t, nil).LoginIDEnrolled(ctx, "alice"); !ok {
		t.Fatal("record lost by a new instance")
	}
}

// An account with a passkey records a sign-in's LoginID registration only
// when one of its passkeys confirmed it, as it would a second passkey.
func TestLoginIDRecordNeedsPasskeyConfirmation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	register(t, f.pk, newSoftAuthn(t, origin), cleanLogin("alice", t0))
	clean := cleanLogin("alice", t0)
	_, err := f.pk.MayRegisterLoginID(ctx, clean)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	_, err = f.pk.RecordLoginID(ctx, "alice", "", clean)
	wantReason(t, err, ReasonEnrolNeedsPasskey)
	if _, err := f.pk.RecordLoginID(ctx, "alice", "", clean, f.confirmed(t, "alice")); err != nil {
		t.Fatal(err)
	}
}

// An enrolment link allows one registration: a passkey or a LoginID
// record, whichever comes first.
func TestLoginIDRecordSpendsTheEnrolLink(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tok, err := f.pk.IssueEnrolToken("bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	link := EnrolTokenProof{Token: tok}
	r, err := f.pk.RecordLoginID(ctx, "bob", "", link)
	if err != nil || r.Via != LoginIDViaEnrolLink {
		t.Fatalf("%+v %v", r, err)
	}
	if removed, err := f.pk.RemoveLoginID(ctx, "bob"); !removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	_, err = f.pk.RecordLoginID(ctx, "bob", "", link)
	wantReason(t, err, ReasonEnrolTokenSpent)
	_, _, err = f.pk.BeginRegistration(ctx, link)
	wantReason(t, err, ReasonEnrolTokenSpent)
}

// The record covers the name as registered at LoginID, which compares
// names byte for byte: another spelling of the account's name is not
// enrolled, even where the passkeys fold it to one account.
func TestLoginIDRecordIsForOneSpelling(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UserKey = func(u string) string { return defaultUserKey(strings.ToLower(u)) } })
	ctx := context.Background()
	if _, err := f.pk.RecordLoginID(ctx, "alice", "", cleanLogin("alice", t0)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.pk.LoginIDEnrolled(ctx, "Alice"); ok {
		t.Fatal("Alice counted as enrolled by alice's record")
	}
	// Nor does the other spelling get a record of its own: one per account.
	_, err := f.pk.MayRegisterLoginID(ctx, cleanLogin("Alice", t0))
	wantReason(t, err, ReasonLoginIDRegistered)
	_, _, err = f.pk.ImportLoginID(ctx, "Alice")
	wantReason(t, err, ReasonLoginIDOtherName)
}

func TestLoginIDImportListRemove(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if r, err := f.pk.LoginID(ctx, "carol"); r != nil || err != nil {
		t.Fatalf("no record: %+v %v", r, err)
	}
	r, created, err := f.pk.ImportLoginID(ctx, "carol")
	if err != nil || !created || r.Via != LoginIDViaImport || r.User != "carol" {
		t.Fatalf("import: %+v %v %v", r, created, err)
	}
	if _, created, err := f.pk.ImportLoginID(ctx, "carol"); created || err != nil {
		t.Fatalf("second import: %v %v", created, err)
	}
	if got, err := f.pk.LoginID(ctx, "carol"); err != nil || got == nil || *got != r {
		t.Fatalf("list: %+v %v", got, err)
	}
	if ok, _ := f.pk.LoginIDEnrolled(ctx, "carol"); !ok {
		t.Fatal("imported user not enrolled")
	}
	if ok, _ := f.pk.HasCredentials(ctx, "carol"); ok {
		t.Fatal("an import made a passkey")
	}
	if removed, err := f.pk.RemoveLoginID(ctx, "carol"); !removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if removed, err := f.pk.RemoveLoginID(ctx, "carol"); removed || err != nil {
		t.Fatalf("second remove: %v %v", removed, err)
	}
	if ok, _ := f.pk.LoginIDEnrolled(ctx, "carol"); ok {
		t.Fatal("enrolled after removal")
	}
	// Removed from an account with no passkey, it registers anew through
	// an enrolment link only (a sign-in alone: enrol_needs_link).
	_, err = f.pk.RecordLoginID(ctx, "carol", "", cleanLogin("carol", t0))
	wantReason(t, err, ReasonEnrolNeedsLink)
	if _, err := f.pk.RecordLoginID(ctx, "carol", "", cleanLogin("carol", t0), f.link(t, "carol")); err != nil {
		t.Fatal(err)
	}
}

// A passkey that confirmed the registration and is removed before the
// record is written (between the proof check and the locked write)
// stops it, as it stops a passkey registration.
func TestLoginIDRecordConfirmingPasskeyRemoved(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	store := &lockHookStore{memStore: f.store}
	pk, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "Portal", Tokens: f.keys, Now: f.clk.Now}, store)
	if err != nil {
		t.Fatal(err)
	}
	stolen := newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, pk, stolen, session)
	conf := confirmWith(t, pk, stolen, 1, session)
	if _, err := pk.MayRegisterLoginID(ctx, session, conf); err != nil {
		t.Fatalf("confirmed by an enrolled passkey: %v", err)
	}
	removed := false
	store.onLock = func() {
		removed = f.pk.RemoveCredential(ctx, "alice", stolen.CredentialID) == nil
	}
	_, err = pk.RecordLoginID(ctx, "alice", "", session, conf)
	if !removed {
		t.Fatal("the passkey was not removed before the locked write")
	}
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	if ok, _ := pk.LoginIDEnrolled(ctx, "alice"); ok {
		t.Fatal("recorded with a confirmation whose passkey was removed")
	}
}
