package counter

import (
	"math"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// TestSlabAddressesEveryIndexOnce: the chunks double from slabFirst and
// the last is cut to max, so max indices name max distinct entries and
// nothing more is allocated.
func TestSlabAddressesEveryIndexOnce(t *testing.T) {
	for _, max := range []int32{1, 15, 16, 17, 48, 49, 1000, 1563} {
		sl := newSlab(max)
		seen := make(map[*entry]int32)
		for want := int32(0); want < max; want++ {
			i := sl.alloc()
			if i != want {
				t.Fatalf("max %d: alloc gave %d, want %d", max, i, want)
			}
			e := sl.at(i)
			if e.prev != -1 || e.next != -1 || e.heapIdx != -1 {
				t.Fatalf("max %d: new entry %d has links %d %d %d", max, i, e.prev, e.next, e.heapIdx)
			}
			if j, dup := seen[e]; dup {
				t.Fatalf("max %d: indices %d and %d share an entry", max, j, i)
			}
			seen[e] = i
		}
		total := 0
		for _, c := range sl.chunks {
			total += len(c)
		}
		if total != int(max) || sl.room != max || sl.n != max {
			t.Fatalf("max %d: chunks hold %d entries (room %d, n %d)", max, total, sl.room, sl.n)
		}
	}
}

// TestSlabEntriesNeverMove: an entry obtained before the slab grows is
// still the one its index names afterwards, with its contents, so holding
// an *entry across the creation of other keys is safe.
func TestSlabEntriesNeverMove(t *testing.T) {
	sl := newSlab(5000)
	first := sl.at(sl.alloc())
	first.key = Key{Rule: "r", Subject: "first"}
	first.times.push(7, 10)
	for range 4999 {
		sl.alloc()
	}
	if len(sl.chunks) < 5 {
		t.Fatalf("only %d chunks: the slab did not grow", len(sl.chunks))
	}
	if sl.at(0) != first || first.key.Subject != "first" || first.times.oldest() != 7 {
		t.Fatalf("entry 0 moved or changed: %p against %p, %+v", sl.at(0), first, first.key)
	}
}

// TestSlabReleaseAndReuse: released entries come back blank, those that
// kept small slices first (no allocation on reuse), then bare ones, most
// recently released first, before any new index is handed out.
func TestSlabReleaseAndReuse(t *testing.T) {
	sl := newSlab(100)
	for range 6 {
		sl.alloc()
	}
	// 1 and 3 hold small slices; 2 holds a large one; 4 holds none.
	sl.at(1).held = append(sl.at(1).held, 5)
	sl.at(3).times.push(1, 10)
	sl.at(3).times.push(2, 10)
	sl.at(3).times.push(3, 10) // past the inline slots: a buffer
	sl.at(2).vals = make([]uint64, 0, maxSpareSlots+1)
	for _, i := range []int32{1, 2, 3, 4} {
		sl.at(i).key = Key{Rule: "r", Subject: "s" + strconv.Itoa(int(i))}
		sl.release(i)
		e := sl.at(i)
		if e.key != (Key{}) || e.kind != 0 || e.prev != -1 || e.heapIdx != -1 || !e.empty() {
			t.Fatalf("released entry %d not blank: %+v", i, e)
		}
	}
	if sl.at(2).vals != nil {
		t.Fatal("a large slice was kept")
	}
	if cap(sl.at(3).times.buf) != 4 || cap(sl.at(1).held) != 1 {
		t.Fatal("small slices were not kept")
	}
	for _, want := range []int32{3, 1, 4, 2, 6, 7} {
		if i := sl.alloc(); i != want {
			t.Fatalf("alloc gave %d, want %d", i, want)
		}
	}
	if sl.free != -1 || len(sl.spare) != 0 {
		t.Fatalf("free %d, spare %v after reuse", sl.free, sl.spare)
	}
}

// TestSlabSpareIsBounded: at most maxSpare released entries keep their
// slices; the others let them go.
func TestSlabSpareIsBounded(t *testing.T) {
	sl := newSlab(100)
	for range 2 * maxSpare {
		sl.alloc()
	}
	for i := range int32(2 * maxSpare) {
		sl.at(i).held = make([]int64, 0, 2)
		sl.release(i)
	}
	kept := 0
	for i := range int32(2 * maxSpare) {
		if sl.at(i).held != nil {
			kept++
		}
	}
	if kept != maxSpare || len(sl.spare) != maxSpare {
		t.Fatalf("%d entries kept slices (%d spare), want %d", kept, len(sl.spare), maxSpare)
	}
}

// TestEntryOverheadCoversTheSlot: the byte estimate counts at least an
// entry's slab slot and its slot in the index.
func TestEntryOverheadCoversTheSlot(t *testing.T) {
	slot := unsafe.Sizeof(entry{}) + unsafe.Sizeof(uint64(0)) + unsafe.Sizeof(int32(0))
	if entryOverhead < slot {
		t.Fatalf("entryOverhead %d, below the %d bytes of an entry and its index slot", entryOverhead, slot)
	}
}

// TestShardTooLargeIsRefused: entries are named by int32 index within
// their shard, so a shard may not hold more.
func TestShardTooLargeIsRefused(t *testing.T) {
	if _, err := NewMemory(MemoryConfig{MaxKeys: math.MaxInt32 + 1, Shards: 1}); err == nil {
		t.Fatal("a shard of 2^31 keys was accepted")
	}
	if _, err := NewMemory(MemoryConfig{MaxKeys: math.MaxInt32, Shards: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestReuseAllocatesNothing: a key dropped and made again (a lockout key
// reserved and released on every attempt, or a new rate key of one hit
// taking an evicted key's place) costs no allocation once the store has
// been through it once.
func TestReuseAllocatesNothing(t *testing.T) {
	m := newStore(t, 1000, newFakeClock())
	k := Key{Rule: "login/lockout_user", Subject: "user=jlopez"}
	cycle := func() {
		r, _ := m.Reserve(bg, k, lk)
		m.Settle(bg, k, lk, r.Token, Release)
	}
	cycle()
	if a := testing.AllocsPerRun(100, cycle); a != 0 {
		t.Fatalf("a reserve and release cycle allocates %v times", a)
	}
	if st := m.Stats(); st.Keys != 0 || st.Bytes != 0 {
		t.Fatalf("after release %+v", st)
	}

	full := newStore(t, 64, newFakeClock())
	keys := make([]Key, 256)
	for i := range keys {
		keys[i] = Key{Rule: "login/rate_ip", Subject: "ip=10." + strconv.Itoa(i)}
	}
	for _, k := range keys {
		full.Take(bg, k, 5, time.Minute)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		full.Take(bg, keys[i%len(keys)], 5, time.Minute)
		i++
	}); a != 0 {
		t.Fatalf("a new key of one hit in a full store allocates %v times", a)
	}
}
