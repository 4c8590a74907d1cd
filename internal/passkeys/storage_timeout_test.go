package passkeys

import (
	"context"
	"errors"
	"testing"
	"time"
)

// hungStore answers nothing until its caller gives up: a remote storage
// that is down, or a lock another request never lets go.
type hungStore struct{}

func (hungStore) Load(ctx context.Context, _ string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (hungStore) Store(ctx context.Context, _ string, _ []byte) error { <-ctx.Done(); return ctx.Err() }
func (hungStore) Lock(ctx context.Context, _ string) error            { <-ctx.Done(); return ctx.Err() }
func (hungStore) Unlock(context.Context, string) error                { return nil }

// TestStorageThatHangsIsBounded: a request whose storage never answers
// fails with ErrStorageUnavailable after the storage timeout, whether it
// reads (the step-up page, BeginLogin) or waits for a lock (a removal, a
// registration's finish), even when the request itself has no deadline.
func TestStorageThatHangsIsBounded(t *testing.T) {
	pk, err := New(Config{RPID: rpID, RPOrigins: []string{origin}, RPDisplayName: "P", StorageTimeout: 20 * time.Millisecond}, hungStore{})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"HasCredentials":   func() error { _, err := pk.HasCredentials(context.Background(), "alice"); return err },
		"BeginLogin":       func() error { _, _, err := pk.BeginLogin(context.Background(), "alice"); return err },
		"RemoveCredential": func() error { return pk.RemoveCredential(context.Background(), "alice", []byte("id")) },
	}
	for name, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrStorageUnavailable) {
				t.Errorf("%s: %v, want ErrStorageUnavailable", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting on the storage after 10s", name)
		}
	}
	// The request's own end still ends the wait first, and is not called
	// the storage's fault.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pk.HasCredentials(ctx, "alice"); err == nil || errors.Is(err, ErrStorageUnavailable) {
		t.Errorf("a request that went away: %v", err)
	}
}
