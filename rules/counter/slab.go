package counter

import "math/bits"

// slab holds one shard's entries, named by int32 index. The garbage
// collector then meets a few large chunks per shard instead of an object
// per key, and the links between entries (LRU, pin heap, free list) are
// indices it does not follow. Under a wave that fills the store this is
// most of what each collection used to walk.
//
// Chunks double in size (slabFirst, 2*slabFirst, 4*slabFirst, ...), the
// last one cut to the shard's maximum, so a small or idle store stays
// small and a full one holds exactly max entries. A chunk never moves once
// made: an *entry from at stays valid for as long as its index is in use,
// however many other keys are added meanwhile. Nothing has to be careful
// about holding an entry across another key's creation.
//
// Chunks are never given back: a released entry waits, blank, for the
// next new key. What a shard holds beyond its live entries is therefore
// the room of its high-water mark of keys, never more than a full shard.
type slab struct {
	chunks [][]entry
	// n indices have been handed out ([0, n) are live or free); room is
	// the total length of the chunks; max bounds both.
	n, room, max int32

	// free chains released entries that hold nothing through entry.next,
	// -1 when there are none.
	free int32
	// spare lists released entries that kept their (bounded) slices, for
	// reuse before free: a lockout key is dropped on every success and
	// made again on the next attempt, and reusing the room its slices
	// had spares the allocations. At most maxSpare, so what a shard keeps
	// beyond its counted bytes stays small.
	spare []int32
}

// slabFirst is the first chunk's length.
const slabFirst = 16

// maxSpare bounds a shard's released entries that keep their slices;
// maxSpareSlots bounds the slots such an entry keeps in each of them.
const (
	maxSpare      = 16
	maxSpareSlots = 16
)

func newSlab(max int32) slab { return slab{max: max, free: -1} }

// at returns the entry at index i. Chunk k starts at slabFirst*(2^k - 1).
func (sl *slab) at(i int32) *entry {
	q := uint(i)/slabFirst + 1
	k := bits.Len(q) - 1
	return &sl.chunks[k][uint(i)-slabFirst*(1<<k-1)]
}

// alloc returns the index of a blank entry (links -1, no key, kind 0):
// a spare one first, then a free one, then a new one. The caller must not
// hold more than max entries: a shard allocates only while it holds
// fewer than max, and every index is either held or released.
func (sl *slab) alloc() int32 {
	if n := len(sl.spare); n > 0 {
		i := sl.spare[n-1]
		sl.spare = sl.spare[:n-1]
		return i
	}
	if i := sl.free; i >= 0 {
		e := sl.at(i)
		sl.free, e.next = e.next, -1
		return i
	}
	if sl.n == sl.room {
		k := len(sl.chunks)
		size := min(int32(slabFirst)<<k, sl.max-sl.room)
		sl.chunks = append(sl.chunks, make([]entry, size))
		sl.room += size
	}
	i := sl.n
	sl.n++
	e := sl.at(i)
	e.prev, e.next, e.heapIdx, e.chain = -1, -1, -1, -1
	return i
}

// release blanks entry i, which must be out of the index and every list,
// so that it holds nothing of its key (the subject included, which the
// collector may then free), and makes it available again. Its slices are
// kept when it can be spare and they are small; otherwise they are let go.
func (sl *slab) release(i int32) {
	e := sl.at(i)
	if len(sl.spare) < maxSpare {
		times := e.times.buf
		if cap(times) > maxSpareSlots {
			times = nil
		}
		vals, seen, held := e.vals[:0], e.seen[:0], e.held[:0]
		if cap(vals) > maxSpareSlots || cap(seen) > maxSpareSlots {
			vals, seen = nil, nil
		}
		if cap(held) > maxSpareSlots {
			held = nil
		}
		if times != nil || cap(vals) > 0 || cap(seen) > 0 || cap(held) > 0 {
			*e = entry{prev: -1, next: -1, heapIdx: -1, chain: -1, times: ring{buf: times}, vals: vals, seen: seen, held: held}
			sl.spare = append(sl.spare, i)
			return
		}
	}
	*e = entry{prev: -1, next: sl.free, heapIdx: -1, chain: -1}
	sl.free = i
}
