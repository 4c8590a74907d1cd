package revoke

import (
	"context"
	"errors"
	"strconv"
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
	if len(snap) != len(snapshotMagic)+n*16 {
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

// TestSetMaxDropsNothingAtOnce: a lower bound drops nothing when it is
// set (a reload that lowered it may yet fail); the set shrinks to it as
// revocations come, a few entries each, those ending first, and a higher
// bound drops nothing.
func TestSetMaxDropsNothingAtOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	const n = 3 * maxDropsPerAdd
	m := NewMemory(n)
	for i := range n {
		_ = m.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	m.SetMax(2 * n)
	m.SetMax(4)
	if s := m.Stats(); s.Entries != n || s.Evicted != 0 {
		t.Fatalf("lowering the bound dropped entries at once: %+v", s)
	}
	_ = m.Revoke(ctx, "new1", now.Add(2*time.Hour), now)
	if s := m.Stats(); s.Entries != n-maxDropsPerAdd+1 || s.Evicted != maxDropsPerAdd {
		t.Fatalf("one revocation over the bound: %+v, want %d dropped", s, maxDropsPerAdd)
	}
	for i := 2; m.Stats().Entries > 4; i++ {
		_ = m.Revoke(ctx, "new"+strconv.Itoa(i), now.Add(2*time.Hour+time.Duration(i)*time.Second), now)
		if i > n {
			t.Fatalf("the set does not shrink to its bound: %+v", m.Stats())
		}
	}
	if ok, _ := m.Revoked(ctx, "s0", now); ok {
		t.Fatal("the entry ending first was kept")
	}
	_ = m.Revoke(ctx, "last", now.Add(3*time.Hour), now)
	if s := m.Stats(); s.Entries != 4 {
		t.Fatalf("at the bound a revocation keeps it: %+v", s)
	}
}
