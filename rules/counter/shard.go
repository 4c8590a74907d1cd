package counter

// shard is one lock's worth of the store: a map from key to slab index, an
// LRU list of evictable entries (most recent at the front) and a heap of
// pinned entries ordered by when they should be looked at again. Entries
// live in the slab and refer to each other by index.
type shard struct {
	m    map[Key]int32
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
	s := &shard{m: make(map[Key]int32), max: max, slab: newSlab(int32(max)), head: -1, tail: -1}
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

// lookup returns the held entry for k and its index, or nil.
func (s *shard) lookup(k Key) (int32, *entry) {
	if i, ok := s.m[k]; ok {
		return i, s.at(i)
	}
	return -1, nil
}

// obtain returns the entry for k and its index, creating it (and making
// room) if needed. It returns nil when the store is full of entries it
// may not evict.
func (s *shard) obtain(k Key, kd kind, now int64) (int32, *entry) {
	if i, ok := s.m[k]; ok {
		e := s.at(i)
		if e.kind != kd {
			e.reset(kd)
		}
		return i, e
	}
	if len(s.m) >= s.max && !s.makeRoom(now) {
		s.refusals++
		return -1, nil
	}
	i := s.slab.alloc()
	e := s.at(i)
	e.key, e.kind = k, kd
	s.m[k] = i
	s.pushFront(i)
	s.bytes += int64(e.bytes())
	return i, e
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
	} else {
		s.unlink(i)
	}
	s.pushFront(i)
}

// remove takes entry i out of the map and whichever list holds it, and
// releases it for reuse. The caller adjusts s.bytes and does not touch the
// entry again.
func (s *shard) remove(i int32) {
	e := s.at(i)
	if e.heapIdx >= 0 {
		s.pinned.remove(e.heapIdx)
	} else {
		s.unlink(i)
	}
	delete(s.m, e.key)
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
	if len(s.m) < s.max {
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
