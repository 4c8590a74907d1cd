package revoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
)

// TestSnapshotReadByAnotherSet: a set saved by one process is read by
// another (a restart): the entries' keys do not depend on the set.
func TestSnapshotReadByAnotherSet(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	a := NewMemory(0)
	_ = a.Revoke(ctx, "ended", now.Add(time.Hour), now)
	_ = a.Revoke(ctx, "soon", now.Add(time.Minute), now)
	snap, mark := a.AppendSnapshot(nil, now)
	if mark.Changes != 2 || mark.Changes != a.Changes() || mark.Evicted != 0 {
		t.Fatalf("mark %+v, Changes %d, want 2 changes", mark, a.Changes())
	}

	b := NewMemory(0)
	later := now.Add(2 * time.Minute)
	n, until, err := b.Merge(snap, later)
	if err != nil || n != 1 || until.UnixNano() != now.Add(time.Hour).UnixNano() {
		t.Fatalf("merged %d, live until %v, %v; want the one entry still live", n, until, err)
	}
	if ok, _ := b.Revoked(ctx, "ended", later); !ok {
		t.Fatal("a logout saved by another set is not read back")
	}
	if ok, _ := b.Revoked(ctx, "other", later); ok {
		t.Fatal("an id never revoked reads as revoked")
	}
	// Merging the same snapshot again adds nothing.
	if n, until, err := b.Merge(snap, later); err != nil || n != 0 || until.IsZero() {
		t.Fatalf("merged again: %d, live until %v, %v", n, until, err)
	}
	// Once every entry has expired, none is live.
	if n, until, err := b.Merge(snap, now.Add(2*time.Hour)); err != nil || n != 0 || !until.IsZero() {
		t.Fatalf("merged after expiry: %d, live until %v, %v", n, until, err)
	}
}

// TestMergeKeepsTheLongerEntry: an entry saved with a later end extends
// the one held; an earlier one does not shorten it.
func TestMergeKeepsTheLongerEntry(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	saved := NewMemory(0)
	_ = saved.Revoke(ctx, "x", now.Add(time.Hour), now)
	_ = saved.Revoke(ctx, "y", now.Add(time.Minute), now)
	snap, _ := saved.AppendSnapshot(nil, now)

	m := NewMemory(0)
	_ = m.Revoke(ctx, "x", now.Add(time.Minute), now)
	_ = m.Revoke(ctx, "y", now.Add(time.Hour), now)
	if n, _, err := m.Merge(snap, now); err != nil || n != 1 {
		t.Fatalf("merged %d, %v; want x extended only", n, err)
	}
	at := now.Add(30 * time.Minute)
	for _, id := range []string{"x", "y"} {
		if ok, _ := m.Revoked(ctx, id, at); !ok {
			t.Errorf("%s no longer revoked at +30m", id)
		}
	}
}

// TestMergeRefusesWhatIsNotWhole: a truncated or foreign file adds
// nothing.
func TestMergeRefusesWhatIsNotWhole(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	saved := NewMemory(0)
	_ = saved.Revoke(ctx, "x", now.Add(time.Hour), now)
	_ = saved.Revoke(ctx, "y", now.Add(time.Hour), now)
	snap, _ := saved.AppendSnapshot(nil, now)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": snap[:len(snap)-3],
		"json":      []byte(`[{"id":"x"}]`),
		"other":     append([]byte("LGREVOK2"), snap[len(snapshotMagic):]...),
	} {
		m := NewMemory(0)
		if n, _, err := m.Merge(b, now); !errors.Is(err, expiry.ErrNotSnapshot) || n != 0 || m.Stats().Entries != 0 {
			t.Errorf("%s: merged %d (%d held), %v", name, n, m.Stats().Entries, err)
		}
	}
}
