package passkeys

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// mapCeremonies is a CeremonyBackend in a map, standing in for the store
// every instance shares.
type mapCeremonies struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *mapCeremonies) Store(h string, s []byte, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[h] = s
	return nil
}

func (b *mapCeremonies) Take(h string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.m[h]
	delete(b.m, h)
	return s, nil
}

// TestSharedCeremoniesAcrossInstances: a registration and a login begun
// on one instance finish on another; the backend never holds the user or
// the ceremony id; a ceremony finishes once.
func TestSharedCeremoniesAcrossInstances(t *testing.T) {
	be := &mapCeremonies{m: map[string][]byte{}}
	shared := func(c *Config) { c.Ceremonies = be }
	f := newFixture(t, shared)
	other := f.instance(t, shared)
	a := newSoftAuthn(t, origin)
	ctx := context.Background()

	opts, id, err := f.pk.BeginRegistration(ctx, cleanLogin("alice", t0))
	if err != nil {
		t.Fatal(err)
	}
	for h, s := range be.m {
		if bytes.Contains(s, []byte("alice")) || h == id || bytes.Contains([]byte(h), []byte(id)) {
			t.Fatal("the shared backend holds the user or the ceremony id")
		}
	}
	if _, err := other.FinishRegistration(ctx, id, post(a.Create(opts)), cleanLogin("alice", t0)); err != nil {
		t.Fatalf("finish on the other instance: %v", err)
	}
	lopts, lid, err := other.BeginLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp := a.Get(lopts, 1)
	if _, err := f.pk.FinishLogin(ctx, lid, "alice", post(resp)); err != nil {
		t.Fatalf("login finished on the first instance: %v", err)
	}
	if _, err := other.FinishLogin(ctx, lid, "alice", post(resp)); ReasonOf(err) != ReasonCeremonyUnknown {
		t.Fatalf("second finish: %v", err)
	}
}
