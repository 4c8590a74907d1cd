package counter

// shard is one lock's worth of the store: an index from key hash to slab
// index, an LRU list of evictable entries (most recent at the front) and a
// heap of pinned entries ordered by when they should be looked at again.
// Entries live in the slab and refer to each other by index.
//
// The index is keyed by a 64-bit hash of the key rather than by the key:
// a map of integers holds no pointer, so the collector skips it whole,
// where a map of keys (two strings each) cost it more than the entries
// themselves. Keys whose hashes collide share a map slot and are chained
// through entry.chain; every lookup compares the whole key, so a
// collision costs a step along the chain and never mixes two counters.
type shard struct {
	m    map[uint64]int32
	live int // entries held (the map counts hashes)
	max  int
	slab slab
	// head is the most recently used evictable entry, tail the least;
	// -1 when there is none.
	head, tail int32
	pinned     pinHeap
	bytes      int64

	evictions uint64
	refusals  uint64
}

func newShard(max int) *shard {
	s := &shard{m: make(map[uint64]int32), max: max, slab: newSlab(int32(max)), head: -1, tail: -1}
	s.pinned.slab = &s.slab
	return s
}

func (s *shard) at(i int32) *entry { return s.slab.at(i) }

func (s *shard) unlink(i int32) {
	e := s.at(i)
	if e.prev >= 0 {
		s.at(e.prev).next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.at(e.next).prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *shard) pushFront(i int32) {
	e := s.at(i)
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.at(s.head).prev = i
	} else {
		s.tail = i
	}
	s.head = i
}

// find returns the index of the held entry for k, whose hash is h, or -1.
func (s *shard) find(k Key, h uint64) int32 {
	i, ok := s.m[h]
	if !ok {
		return -1
	}
	for i >= 0 {
		e := s.at(i)
		if e.key == k {
			return i
		}
		i = e.chain
	}
	return -1
}

// lookup returns the held entry for k (hash h) and its index, or nil.
func (s *shard) lookup(k Key, h uint64) (int32, *entry) {
	if i := s.find(k, h); i >= 0 {
		return i, s.at(i)
	}
	return -1, nil
}

// obtain returns the entry for k (hash h) and its index, creating it (and
// making room) if needed. It returns nil when the store is full of entries
// it may not evict.
func (s *shard) obtain(k Key, h uint64, kd kind, now int64) (int32, *entry) {
	if i := s.find(k, h); i >= 0 {
		e := s.at(i)
		if e.kind != kd {
			e.reset(kd)
		}
		return i, e
	}
	if s.live >= s.max && !s.makeRoom(now) {
		s.refusals++
		return -1, nil
	}
	i := s.slab.alloc()
	e := s.at(i)
	e.key, e.hash, e.kind = k, h, kd
	// A new key goes first in its hash's chain (almost always alone).
	if head, ok := s.m[h]; ok {
		e.chain = head
	}
	s.m[h] = i
	s.live++
	s.pushFront(i)
	s.bytes += int64(e.bytes())
	return i, e
}

// unindex takes entry i out of the index.
func (s *shard) unindex(i int32) {
	e := s.at(i)
	head := s.m[e.hash]
	if head == i {
		if e.chain >= 0 {
			s.m[e.hash] = e.chain
		} else {
			delete(s.m, e.hash)
		}
	} else {
		p := s.at(head)
		for p.chain != i {
			p = s.at(p.chain)
		}
		p.chain = e.chain
	}
	e.chain = -1
	s.live--
}

// settle files entry i after an operation changed it: a pinned entry goes
// to the heap, an evictable one to the LRU front, an empty one away.
// before is its bytes() taken before the change.
func (s *shard) settle(i int32, now int64, before int) {
	e := s.at(i)
	if e.empty() {
		s.remove(i)
		s.bytes -= int64(before)
		return
	}
	s.bytes += int64(e.bytes() - before)
	if until, ok := e.pinnedUntil(now); ok {
		if e.heapIdx >= 0 {
			s.pinned.items[e.heapIdx].recheck = until
			s.pinned.fix(e.heapIdx)
		} else {
			s.unlink(i)
			s.pinned.push(pin{recheck: until, id: i})
		}
		return
	}
	if e.heapIdx >= 0 {
		s.pinned.remove(e.heapIdx)
	} else if s.head == i {
		return // already the most recent
	} else {
		s.unlink(i)
	}
	s.pushFront(i)
}

// remove takes entry i out of the index and whichever list holds it, and
// releases it for reuse. The caller adjusts s.bytes and does not touch the
// entry again.
func (s *shard) remove(i int32) {
	e := s.at(i)
	if e.heapIdx >= 0 {
		s.pinned.remove(e.heapIdx)
	} else {
		s.unlink(i)
	}
	s.unindex(i)
	s.slab.release(i)
}

func (s *shard) drop(i int32) {
	s.bytes -= int64(s.at(i).bytes())
	s.remove(i)
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
	for len(s.pinned.items) > 0 && s.pinned.items[0].recheck <= now {
		i := s.pinned.items[0].id
		e := s.at(i)
		before := e.bytes()
		e.prune(now)
		s.bytes += int64(e.bytes() - before)
		if e.empty() {
			s.drop(i)
			continue
		}
		if until, ok := e.pinnedUntil(now); ok {
			s.pinned.items[0].recheck = until
			s.pinned.fix(0)
			continue
		}
		s.pinned.remove(0)
		s.pushFront(i)
	}
	if s.live < s.max {
		return true
	}
	i := s.tail
	for n := 0; n < expiredScan && i >= 0; n++ {
		e := s.at(i)
		prev := e.prev
		e.prune(now)
		if e.empty() {
			s.drop(i)
			return true
		}
		i = prev
	}
	if tail := s.tail; tail >= 0 {
		s.drop(tail)
		s.evictions++
		return true
	}
	return false
}
