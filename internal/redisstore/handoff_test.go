package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/revoke"
)

// TestHandOffGivenBack: a config that ends while an older one still runs
// on the same connection (a reload that failed) gives the older one's
// hand-off back its place, so the connection's close later hands its kept
// logouts to the older config, not to the ended one's storage; a config
// whose hand-off was already replaced by a newer one changes nothing.
func TestHandOffGivenBack(t *testing.T) {
	c, err := New(Config{Addresses: []string{"127.0.0.1:1"}, Timeout: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	hand := func(name string) *HandOff {
		return &HandOff{Take: func([]KeptLogout) error { got = append(got, name); return nil }}
	}
	older, failed, newer := hand("older"), hand("failed"), hand("newer")
	if prev := c.HandOffKept(older); prev != nil {
		t.Fatalf("a first hand-off replaced %v", prev)
	}
	prev := c.HandOffKept(failed)
	c.GiveBackHandOff(failed, prev)  // the failed reload ends
	c.GiveBackHandOff(newer, failed) // not the current one: no change
	now := time.Now()
	if err := NewRevokeSet(c).Revoke(context.Background(), "s1", now.Add(time.Hour), now); !errors.Is(err, revoke.ErrKept) {
		t.Fatalf("a logout without Redis: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "older" {
		t.Fatalf("handed to %v, want the older config's", got)
	}
	// Closed: a logout is no longer kept, and says why.
	if err := NewRevokeSet(c).Revoke(context.Background(), "s2", now.Add(time.Hour), now); err == nil || errors.Is(err, revoke.ErrKept) {
		t.Fatalf("a logout on a closed connection: %v", err)
	}
}
