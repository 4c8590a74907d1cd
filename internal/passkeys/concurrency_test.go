package passkeys

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// Concurrent first registrations must agree on the user handle, and both
// credentials must be kept (the storage lock serialises the writes).
func TestConcurrentRegistrations(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// Each registration confirmed: a passkey added beside another needs
	// one (see TestSecondPasskeyNeedsTheFirst).
	proofs := []Proof{cleanLogin("alice", t0), f.confirmed(t, "alice")}
	const n = 4
	auths := make([]*softAuthn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range auths {
		auths[i] = newSoftAuthn(t, origin)
		wg.Add(1)
		go func(a *softAuthn) {
			defer wg.Done()
			opts, id, err := f.pk.BeginRegistration(ctx, proofs...)
			if err != nil {
				errs <- err
				return
			}
			_, err = f.pk.FinishRegistration(ctx, id, post(a.Create(opts)), proofs...)
			errs <- err
		}(auths[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec, _, _ := f.pk.load(ctx, "alice")
	if len(rec.Credentials) != n {
		t.Fatalf("%d credentials kept, want %d", len(rec.Credentials), n)
	}
	for _, a := range auths {
		if !bytes.Equal(a.Handle, rec.Handle) {
			t.Fatal("authenticators were given different user handles")
		}
	}
}

// A storage lock that cannot be taken returns the caller's context error
// and writes nothing.
func TestLockHonoursContext(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.store.Lock(context.Background(), f.pk.lockName("alice")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := f.pk.BeginRegistration(ctx, cleanLogin("alice", t0))
	if !errors.Is(err, context.Canceled) || ReasonOf(err) != "" {
		t.Fatalf("err %v", err)
	}
	if len(f.store.keys()) != 0 {
		t.Fatal("wrote without the lock")
	}
}
