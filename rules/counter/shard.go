package counter

import "container/heap"

// shard is one lock's worth of the store: a map, an LRU list of evictable
// entries (most recent at the front) and a heap of pinned entries ordered
// by when they should be looked at again.
type shard struct {
	m      map[Key]*entry
	max    int
	lru    entry // sentinel: lru.next is the most recent, lru.prev the least
	pinned pinHeap
	bytes  int64

	evictions uint64
	refusals  uint64

	// spare holds entries that left the map, for reuse: a lockout key is
	// dropped on every success and made again on the next attempt, and
	// reusing its entry (and the room its slices had) spares the
	// allocations. At most maxSpare, each with bounded slices, so what
	// the shard keeps beyond its counted bytes stays small.
	spare []*entry
}

// maxSpare bounds a shard's reusable entries; maxSpareSlots bounds the
// slots a reused entry keeps in each of its slices.
const (
	maxSpare      = 16
	maxSpareSlots = 16
)

func newShard(max int) *shard {
	s := &shard{m: make(map[Key]*entry), max: max}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	return s
}

func (s *shard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *entry) {
	e.prev, e.next = &s.lru, s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
}

// lookup returns the held entry for k, or nil.
func (s *shard) lookup(k Key) *entry { return s.m[k] }

// obtain returns the entry for k, creating it (and making room) if needed.
// It returns nil when the store is full of entries it may not evict.
func (s *shard) obtain(k Key, kd kind, now int64) *entry {
	if e := s.m[k]; e != nil {
		if e.kind != kd {
			e.reset(kd)
		}
		return e
	}
	if len(s.m) >= s.max && !s.makeRoom(now) {
		s.refusals++
		return nil
	}
	e := s.newEntry(k, kd)
	s.m[k] = e
	s.pushFront(e)
	s.bytes += int64(e.bytes())
	return e
}

// settle files e after an operation changed it: a pinned entry goes to the
// heap, an evictable one to the LRU front, an empty one away. before is
// e.bytes() taken before the change.
func (s *shard) settle(e *entry, now int64, before int) {
	if e.empty() {
		s.remove(e)
		s.bytes -= int64(before)
		return
	}
	s.bytes += int64(e.bytes() - before)
	if until, ok := e.pinnedUntil(now); ok {
		e.recheck = until
		if e.heapIdx >= 0 {
			heap.Fix(&s.pinned, e.heapIdx)
		} else {
			s.unlink(e)
			heap.Push(&s.pinned, e)
		}
		return
	}
	if e.heapIdx >= 0 {
		heap.Remove(&s.pinned, e.heapIdx)
	} else {
		s.unlink(e)
	}
	s.pushFront(e)
}

// remove takes e out of the map and whichever list holds it, and keeps
// it for reuse. The caller adjusts s.bytes and does not touch e again.
func (s *shard) remove(e *entry) {
	if e.heapIdx >= 0 {
		heap.Remove(&s.pinned, e.heapIdx)
	} else {
		s.unlink(e)
	}
	delete(s.m, e.key)
	s.recycle(e)
}

// newEntry returns a blank entry for k, reused when one is spare.
func (s *shard) newEntry(k Key, kd kind) *entry {
	n := len(s.spare)
	if n == 0 {
		return &entry{key: k, kind: kd, heapIdx: -1}
	}
	e := s.spare[n-1]
	s.spare[n-1] = nil
	s.spare = s.spare[:n-1]
	e.key, e.kind = k, kd
	return e
}

// recycle blanks e (it must hold nothing of its key any more, the
// subject included) and keeps it if there is room.
func (s *shard) recycle(e *entry) {
	if len(s.spare) >= maxSpare {
		return
	}
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
	*e = entry{heapIdx: -1, times: ring{buf: times}, vals: vals, seen: seen, held: held}
	s.spare = append(s.spare, e)
}

func (s *shard) drop(e *entry) {
	s.bytes -= int64(e.bytes())
	s.remove(e)
}

// expiredScan is how many least-recently-used entries makeRoom inspects
// for an expired one before evicting a live one.
const expiredScan = 8

// makeRoom frees one slot. Order: pinned entries whose time has come are
// re-examined (an empty one is dropped, an unpinned one rejoins the LRU at
// the front, so an abuser's partial count outlives idle visitors); then an
// expired entry near the LRU tail is dropped; then the LRU tail is evicted.
// Pinned entries are never evicted.
func (s *shard) makeRoom(now int64) bool {
	for len(s.pinned) > 0 && s.pinned[0].recheck <= now {
		e := s.pinned[0]
		before := e.bytes()
		e.prune(now)
		s.bytes += int64(e.bytes() - before)
		if e.empty() {
			s.drop(e)
			continue
		}
		if until, ok := e.pinnedUntil(now); ok {
			e.recheck = until
			heap.Fix(&s.pinned, 0)
			continue
		}
		heap.Remove(&s.pinned, 0)
		s.pushFront(e)
	}
	if len(s.m) < s.max {
		return true
	}
	e := s.lru.prev
	for i := 0; i < expiredScan && e != &s.lru; i++ {
		e.prune(now)
		if e.empty() {
			s.drop(e)
			return true
		}
		e = e.prev
	}
	if tail := s.lru.prev; tail != &s.lru {
		s.drop(tail)
		s.evictions++
		return true
	}
	return false
}

// pinHeap orders pinned entries by recheck time.
type pinHeap []*entry

func (h pinHeap) Len() int           { return len(h) }
func (h pinHeap) Less(i, j int) bool { return h[i].recheck < h[j].recheck }
func (h pinHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *pinHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}
func (h *pinHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}
