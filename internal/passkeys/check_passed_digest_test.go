package passkeys

import (
	"bytes"
	"context"
	"testing"
)

// TestCheckPassedDigest: the step-up's continuation and resubmit pass name
// the passkey that passed by its CredentialDigest (16 bytes, however long
// the credential id), and CheckPassedDigest answers for it as CheckPassed
// does for the id: it stands while stored and unmarked.
func TestCheckPassedDigest(t *testing.T) {
	long := bytes.Repeat([]byte{7}, 1023)
	if d := CredentialDigest(long); len(d) != CredentialDigestLen || bytes.Equal(d, CredentialDigest(long[:1022])) {
		t.Fatalf("digest of a 1023-byte id: %x", d)
	}

	f := newFixture(t, nil)
	a, b := newSoftAuthn(t, origin), newSoftAuthn(t, origin)
	register(t, f.pk, a, cleanLogin("alice", t0))
	register(t, f.pk, b, f.confirmed(t, "alice"), cleanLogin("alice", t0))
	ctx := context.Background()
	res, err := login(t, f.pk, a, "alice", 5)
	if err != nil {
		t.Fatal(err)
	}
	d := CredentialDigest(res.CredentialID)
	if err := f.pk.CheckPassedDigest(ctx, "alice", d); err != nil {
		t.Fatalf("an enrolled passkey: %v", err)
	}
	wantReason(t, f.pk.CheckPassedDigest(ctx, "bob", d), ReasonCredentialRemoved)
	wantReason(t, f.pk.CheckPassedDigest(ctx, "alice", nil), ReasonCredentialRemoved)
	wantReason(t, f.pk.CheckPassedDigest(ctx, "alice", res.CredentialID), ReasonCredentialRemoved) // the id itself is no digest
	wantReason(t, f.pk.CheckPassedDigest(ctx, "alice", d[:8]), ReasonCredentialRemoved)

	if _, err := login(t, f.pk, a, "alice", 3); ReasonOf(err) != ReasonCloneWarning {
		t.Fatalf("a sign count gone backwards: %v", err)
	}
	wantReason(t, f.pk.CheckPassedDigest(ctx, "alice", d), ReasonCloneWarning)
	allowing := f.instance(t, func(c *Config) { c.AllowCloneWarning = true })
	if err := allowing.CheckPassedDigest(ctx, "alice", d); err != nil {
		t.Fatalf("a marked passkey with allow_clone_warning: %v", err)
	}

	if err := f.pk.RemoveCredential(ctx, "alice", res.CredentialID); err != nil {
		t.Fatal(err)
	}
	wantReason(t, f.pk.CheckPassedDigest(ctx, "alice", d), ReasonCredentialRemoved)
	if err := f.pk.CheckPassedDigest(ctx, "alice", CredentialDigest(b.CredentialID)); err != nil {
		t.Fatalf("the other passkey after the removal: %v", err)
	}
}
