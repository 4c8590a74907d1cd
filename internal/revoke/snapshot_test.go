package revoke

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestSnapshotReadByAnotherSet: a set saved by one process is read by
// another (a restart): the entries' keys do not depend on the set.
func TestSnapshotReadByAnotherSet(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	a := NewMemory(0)
	_ = a.Revoke(ctx, "ended", now.Add(time.Hour), now)
	_ = a.Revoke(ctx, "soon", now.Add(time.Minute), now)
	snap, changes := a.AppendSnapshot(nil, now)
	if changes != 2 || changes != a.Changes() {
		t.Fatalf("changes %d, Changes %d, want 2", changes, a.Changes())
	}

	b := NewMemory(0)
	later := now.Add(2 * time.Minute)
	n, live, err := b.Merge(snap, later)
	if err != nil || n != 1 || live != 1 {
		t.Fatalf("merged %d of %d live, %v; want the one entry still live", n, live, err)
	}
	if ok, _ := b.Revoked(ctx, "ended", later); !ok {
		t.Fatal("a logout saved by another set is not read back")
	}
	if ok, _ := b.Revoked(ctx, "other", later); ok {
		t.Fatal("an id never revoked reads as revoked")
	}
	// Merging the same snapshot again adds nothing.
	if n, live, err := b.Merge(snap, later); err != nil || n != 0 || live != 1 {
		t.Fatalf("merged again: %d of %d live, %v", n, live, err)
	}
	// Once every entry has expired, none is live.
	if n, live, err := b.Merge(snap, now.Add(2*time.Hour)); err != nil || n != 0 || live != 0 {
		t.Fatalf("merged after expiry: %d of %d live, %v", n, live, err)
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
		if n, _, err := m.Merge(b, now); !errors.Is(err, ErrNotSnapshot) || n != 0 || m.Stats().Entries != 0 {
			t.Errorf("%s: merged %d (%d held), %v", name, n, m.Stats().Entries, err)
		}
	}
}

// TestMergeBoundedAcrossChunks: a snapshot larger than one chunk is read
// whole, and the set's bound holds, keeping the entries that end last.
func TestMergeBoundedAcrossChunks(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	const n = 3*mergeChunk + 7
	saved := NewMemory(n)
	for i := range n {
		_ = saved.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	snap, _ := saved.AppendSnapshot(nil, now)
	if len(snap) != len(snapshotMagic)+n*snapshotEntry {
		t.Fatalf("snapshot of %d bytes", len(snap))
	}
	whole := NewMemory(n)
	if got, _, err := whole.Merge(snap, now); err != nil || got != n {
		t.Fatalf("merged %d, %v; want %d", got, err, n)
	}
	small := NewMemory(1000)
	if _, _, err := small.Merge(snap, now); err != nil {
		t.Fatal(err)
	}
	if s := small.Stats(); s.Entries != 1000 {
		t.Fatalf("bounded set holds %+v", s)
	}
	if ok, _ := small.Revoked(ctx, "s"+strconv.Itoa(n-1), now); !ok {
		t.Fatal("the entry ending last was dropped")
	}
	if ok, _ := small.Revoked(ctx, "s0", now); ok {
		t.Fatal("the entry ending first was kept over the bound")
	}
}

// TestSetMaxKeepsWhatFits: a lower bound drops the entries ending first,
// a higher one drops nothing.
func TestSetMaxKeepsWhatFits(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	m := NewMemory(10)
	for i := range 10 {
		_ = m.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	m.SetMax(20)
	if s := m.Stats(); s.Entries != 10 {
		t.Fatalf("raising the bound: %+v", s)
	}
	m.SetMax(4)
	if s := m.Stats(); s.Entries != 4 || s.Evicted != 6 {
		t.Fatalf("lowering the bound: %+v", s)
	}
	for i := range 10 {
		ok, _ := m.Revoked(ctx, "s"+strconv.Itoa(i), now)
		if ok != (i >= 6) {
			t.Errorf("s%d revoked=%v", i, ok)
		}
	}
	_ = m.Revoke(ctx, "new", now.Add(2*time.Hour), now)
	if s := m.Stats(); s.Entries != 4 {
		t.Fatalf("after a revocation at the new bound: %+v", s)
	}
}
