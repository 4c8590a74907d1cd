package passkeys

import (
	"context"
	"testing"
)

// TestCheckPassed: a passkey that passed an assertion stands while it is
// stored and unmarked; removed, or marked as cloned by a later assertion,
// it no longer does (the step-up route's completion asks).
func TestCheckPassed(t *testing.T) {
	f := newFixture(t, nil)
	a, b := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	register(t, f.pk, b, f.confirmed(t, "alice"), cleanLogin("alice", t0))
	ctx := context.Background()
	res, err := login(t, f.pk, a, "alice", 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pk.CheckPassed(ctx, "alice", res.CredentialID); err != nil {
		t.Fatalf("an enrolled passkey: %v", err)
	}
	wantReason(t, f.pk.CheckPassed(ctx, "bob", res.CredentialID), ReasonCredentialRemoved)
	wantReason(t, f.pk.CheckPassed(ctx, "alice", nil), ReasonCredentialRemoved)

	if _, err := login(t, f.pk, a, "alice", 3); ReasonOf(err) != ReasonCloneWarning {
		t.Fatalf("a sign count gone backwards: %v", err)
	}
	wantReason(t, f.pk.CheckPassed(ctx, "alice", res.CredentialID), ReasonCloneWarning)
	allowing := f.instance(t, func(c *Config) { c.AllowCloneWarning = true })
	if err := allowing.CheckPassed(ctx, "alice", res.CredentialID); err != nil {
		t.Fatalf("a marked passkey with allow_clone_warning: %v", err)
	}

	if err := f.pk.RemoveCredential(ctx, "alice", res.CredentialID); err != nil {
		t.Fatal(err)
	}
	wantReason(t, f.pk.CheckPassed(ctx, "alice", res.CredentialID), ReasonCredentialRemoved)
	if err := f.pk.CheckPassed(ctx, "alice", b.CredentialID); err != nil {
		t.Fatalf("the other passkey after the removal: %v", err)
	}
}
