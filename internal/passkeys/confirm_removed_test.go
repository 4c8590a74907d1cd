package passkeys

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// confirmWith runs BeginConfirm and FinishConfirm with authenticator a at
// sign count counter.
func confirmWith(t *testing.T, pk *Passkeys, a *softAuthn, counter uint32, proofs ...Proof) ConfirmProof {
	t.Helper()
	ctx := context.Background()
	opts, id, err := pk.BeginConfirm(ctx, proofs...)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pk.FinishConfirm(ctx, id, post(a.Get(opts, counter)), proofs...)
	if err != nil {
		t.Fatal(err)
	}
	return ConfirmProof{Token: tok}
}

// TestRemovedPasskeyStopsItsConfirmation: a confirmation allows adding a
// passkey only while the passkey that made it is still enrolled and
// unmarked. Removed through the admin API (or marked as cloned by a later
// assertion), it is refused for what it is, also when the account has no
// passkey left; a confirmation with a passkey still enrolled allows it,
// and one sealed before confirmations named their passkey is taken
// without the look-up.
func TestRemovedPasskeyStopsItsConfirmation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	stolen, kept := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, f.pk, stolen, session)
	register(t, f.pk, kept, session, confirmWith(t, f.pk, stolen, 1, session))

	conf := confirmWith(t, f.pk, stolen, 2, session)
	if _, err := f.pk.MayEnroll(ctx, session, conf); err != nil {
		t.Fatalf("a confirmation by an enrolled passkey: %v", err)
	}
	opts, id, err := f.pk.BeginRegistration(ctx, session, conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pk.RemoveCredential(ctx, "alice", stolen.CredentialID); err != nil {
		t.Fatal(err)
	}
	// Begun before the removal, finished after it.
	_, err = f.pk.FinishRegistration(ctx, id, post(newSoftAuthn(t, origin).Create(opts)), session, conf)
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	_, err = f.pk.MayEnroll(ctx, session, conf)
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	_, _, err = f.pk.BeginRegistration(ctx, session, conf)
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	if !NeedsConfirmation(err) {
		t.Fatalf("%v does not ask for a confirmation", err)
	}
	if creds, _ := f.pk.Credentials(ctx, "alice"); len(creds) != 1 {
		t.Fatalf("%d passkeys, want the kept one only", len(creds))
	}
	// The passkey still enrolled confirms again.
	register(t, f.pk, newSoftAuthn(t, origin), session, confirmWith(t, f.pk, kept, 1, session))

	// A confirmation sealed by the release before names no passkey.
	if _, err := f.pk.MayEnroll(ctx, session, f.confirmed(t, "alice")); err != nil {
		t.Fatalf("a confirmation naming no passkey: %v", err)
	}

	// Marked as cloned after it confirmed (a sign count gone backwards).
	conf = confirmWith(t, f.pk, kept, 5, session)
	if _, err := login(t, f.pk, kept, "alice", 3); ReasonOf(err) != ReasonCloneWarning {
		t.Fatalf("a sign count gone backwards: %v", err)
	}
	_, err = f.pk.MayEnroll(ctx, session, conf)
	wantReason(t, err, ReasonEnrolConfirmCloneWarning)
	allowing := f.instance(t, func(c *Config) { c.AllowCloneWarning = true })
	if _, err := allowing.MayEnroll(ctx, session, conf); err != nil {
		t.Fatalf("a marked passkey with allow_clone_warning: %v", err)
	}

	// No passkey left: the confirmation is still refused, and a sign-in
	// alone no longer registers a first passkey: the admin removal of
	// the last one marked the account for an enrolment link.
	creds, err := f.pk.Credentials(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		if err := f.pk.RemoveCredential(ctx, "alice", c.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.pk.MayEnroll(ctx, session, conf)
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	_, err = f.pk.MayEnroll(ctx, session)
	wantReason(t, err, ReasonEnrolNeedsLink)
}

// lockHookStore is the fixture's store, running onLock (once) when a
// lock is next asked for, before taking it.
type lockHookStore struct {
	*memStore
	onLock func()
}

func (s *lockHookStore) Lock(ctx context.Context, name string) error {
	if h := s.onLock; h != nil {
		s.onLock = nil
		h()
	}
	return s.memStore.Lock(ctx, name)
}

// TestConfirmingPasskeyRemovedDuringTheFinish: a passkey removed after
// FinishRegistration checked the proofs, but before its locked write, is
// still seen: the write reads the record again under the account's lock.
func TestConfirmingPasskeyRemovedDuringTheFinish(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	store := &lockHookStore{memStore: f.store}
	pk, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "Portal", Tokens: f.keys, Now: f.clk.Now}, store)
	if err != nil {
		t.Fatal(err)
	}
	stolen, kept := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, pk, stolen, session)
	register(t, pk, kept, session, confirmWith(t, pk, stolen, 1, session))
	conf := confirmWith(t, pk, stolen, 2, session)
	opts, id, err := pk.BeginRegistration(ctx, session, conf)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	store.onLock = func() {
		removed = f.pk.RemoveCredential(ctx, "alice", stolen.CredentialID) == nil
	}
	_, err = pk.FinishRegistration(ctx, id, post(newSoftAuthn(t, origin).Create(opts)), session, conf)
	if !removed {
		t.Fatal("the passkey was not removed before the locked write")
	}
	wantReason(t, err, ReasonEnrolConfirmRemoved)
	if creds, _ := pk.Credentials(ctx, "alice"); len(creds) != 1 {
		t.Fatalf("%d passkeys, want the kept one only", len(creds))
	}
}

// downStore is the fixture's store until it is taken down: then its
// reads hang until the caller gives up.
type downStore struct {
	*memStore
	down atomic.Bool
}

func (s *downStore) Load(ctx context.Context, key string) ([]byte, error) {
	if s.down.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.memStore.Load(ctx, key)
}

// TestConfirmationLookUpStorageDown: storage that does not answer the
// confirming passkey's look-up is an outage (ErrStorageUnavailable, no
// refusal reason: the step-up route answers 503), not an allowed
// registration.
func TestConfirmationLookUpStorageDown(t *testing.T) {
	f := newFixture(t, nil)
	store := &downStore{memStore: f.store}
	pk, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "Portal", Tokens: f.keys, Now: f.clk.Now,
		StorageTimeout: 50 * time.Millisecond}, store)
	if err != nil {
		t.Fatal(err)
	}
	a := newSoftAuthn(t, origin)
	session := cleanLogin("alice", t0)
	register(t, pk, a, session)
	conf := confirmWith(t, pk, a, 1, session)
	store.down.Store(true)
	_, err = pk.MayEnroll(context.Background(), session, conf)
	if !errors.Is(err, ErrStorageUnavailable) || ReasonOf(err) != "" {
		t.Fatalf("storage down: %v, want ErrStorageUnavailable", err)
	}
}
