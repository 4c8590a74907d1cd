package expiry

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

const testMagic = "LGTEST01"

// TestRefuseSetFailsClosed: a Refuse set reports a key recorded again as
// not new, refuses a new key at its bound rather than forget one, and
// takes new keys again once entries expire.
func TestRefuseSetFailsClosed(t *testing.T) {
	now := time.Now().UnixNano()
	s := NewSet(2, Refuse, testMagic)
	for _, id := range []string{"a", "b"} {
		if fresh, err := s.Add(Key(id), now+int64(time.Minute), now); !fresh || err != nil {
			t.Fatalf("%s: fresh %v, %v", id, fresh, err)
		}
	}
	if fresh, err := s.Add(Key("a"), now+int64(time.Minute), now); fresh || err != nil {
		t.Fatalf("a again: fresh %v, %v; want a replay", fresh, err)
	}
	if _, err := s.Add(Key("c"), now+int64(time.Hour), now); !errors.Is(err, ErrFull) {
		t.Fatalf("at the bound: %v, want ErrFull", err)
	}
	if s.Has(Key("c"), now) || !s.Has(Key("a"), now) || s.Evicted() != 0 {
		t.Fatal("a refused key was recorded, or a recorded one dropped")
	}
	later := now + int64(2*time.Minute)
	if fresh, err := s.Add(Key("c"), later+int64(time.Hour), later); !fresh || err != nil {
		t.Fatalf("after the others expired: fresh %v, %v", fresh, err)
	}
	if s.Has(Key("a"), later) || s.Len() != 1 {
		t.Fatalf("expired entries kept: %d held", s.Len())
	}
}

// TestRefuseSetMergesOverItsBound: a Refuse set takes every saved entry,
// even over its bound (dropping one would reopen it), and refuses new
// keys until it is under the bound again.
func TestRefuseSetMergesOverItsBound(t *testing.T) {
	now := time.Now()
	t0 := now.UnixNano()
	saved := NewSet(10, Refuse, testMagic)
	for i := range 5 {
		_, _ = saved.Add(Key("s"+strconv.Itoa(i)), t0+int64(time.Hour), t0)
	}
	snap, _ := saved.AppendSnapshot(nil, now)
	s := NewSet(3, Refuse, testMagic)
	if n, _, err := s.Merge(snap, now); err != nil || n != 5 {
		t.Fatalf("merged %d, %v; want all 5", n, err)
	}
	for i := range 5 {
		if !s.Has(Key("s"+strconv.Itoa(i)), t0) {
			t.Fatalf("s%d dropped by the merge", i)
		}
	}
	if _, err := s.Add(Key("new"), t0+int64(time.Hour), t0); !errors.Is(err, ErrFull) {
		t.Fatalf("over the bound: %v, want ErrFull", err)
	}
}

// TestMergeBoundedAcrossChunks: a snapshot larger than one chunk is read
// whole, and an EvictFirst set's bound holds, keeping the entries that
// end last.
func TestMergeBoundedAcrossChunks(t *testing.T) {
	now := time.Now()
	t0 := now.UnixNano()
	const n = 3*mergeChunk + 7
	at := func(i int) int64 { return t0 + int64(time.Hour+time.Duration(i)*time.Second) }
	saved := NewSet(n, EvictFirst, testMagic)
	for i := range n {
		_, _ = saved.Add(Key("s"+strconv.Itoa(i)), at(i), t0)
	}
	snap, _ := saved.AppendSnapshot(nil, now)
	if len(snap) != MagicLen+n*entryLen {
		t.Fatalf("snapshot of %d bytes", len(snap))
	}
	whole := NewSet(n, EvictFirst, testMagic)
	if got, _, err := whole.Merge(snap, now); err != nil || got != n {
		t.Fatalf("merged %d, %v; want %d", got, err, n)
	}
	small := NewSet(1000, EvictFirst, testMagic)
	if _, _, err := small.Merge(snap, now); err != nil {
		t.Fatal(err)
	}
	if small.Len() != 1000 {
		t.Fatalf("bounded set holds %d", small.Len())
	}
	if !small.Has(Key("s"+strconv.Itoa(n-1)), t0) {
		t.Fatal("the entry ending last was dropped")
	}
	if small.Has(Key("s0"), t0) {
		t.Fatal("the entry ending first was kept over the bound")
	}
}

// TestSetMaxDropsNothingAtOnce: a lower bound drops nothing when it is
// set (a reload that lowered it may yet fail); an EvictFirst set shrinks
// to it as keys come, a few entries each, those ending first, and a
// higher bound drops nothing.
func TestSetMaxDropsNothingAtOnce(t *testing.T) {
	t0 := time.Now().UnixNano()
	const n = 3 * maxDropsPerAdd
	s := NewSet(n, EvictFirst, testMagic)
	for i := range n {
		_, _ = s.Add(Key("s"+strconv.Itoa(i)), t0+int64(time.Hour+time.Duration(i)*time.Second), t0)
	}
	s.SetMax(2 * n)
	s.SetMax(4)
	if s.Len() != n || s.Evicted() != 0 {
		t.Fatalf("lowering the bound dropped entries at once: %d held, %d evicted", s.Len(), s.Evicted())
	}
	_, _ = s.Add(Key("new1"), t0+int64(2*time.Hour), t0)
	if s.Len() != n-maxDropsPerAdd+1 || s.Evicted() != maxDropsPerAdd {
		t.Fatalf("one addition over the bound: %d held, %d evicted; want %d dropped", s.Len(), s.Evicted(), maxDropsPerAdd)
	}
	for i := 2; s.Len() > 4; i++ {
		_, _ = s.Add(Key("new"+strconv.Itoa(i)), t0+int64(2*time.Hour+time.Duration(i)*time.Second), t0)
		if i > n {
			t.Fatalf("the set does not shrink to its bound: %d held", s.Len())
		}
	}
	if s.Has(Key("s0"), t0) {
		t.Fatal("the entry ending first was kept")
	}
	_, _ = s.Add(Key("last"), t0+int64(3*time.Hour), t0)
	if s.Len() != 4 {
		t.Fatalf("at the bound an addition keeps it: %d held", s.Len())
	}
}
