package counter

// kind is what an entry counts.
type kind uint8

const (
	kindRate kind = iota + 1
	kindDistinct
	kindLockout
)

var kindNames = [...]string{kindRate: "rate", kindDistinct: "distinct", kindLockout: "lockout"}

// entryOverhead approximates the bytes an entry costs besides its subject
// and slices: its slot in the shard's slab (216 B, a test checks that it
// fits) plus its slot in the shard's index (hash and slab index, 16 B)
// with the map's control bytes and load-factor slack (~20 B). A full store
// of one-hit keys measures about this plus the subject's allocation.
const entryOverhead = 250

// entry is one key's state, held in its shard's slab and named by its
// index there. Times are store-relative nanoseconds. The fields used
// depend on kind; the others stay empty.
type entry struct {
	key Key
	// hash is key's hash, the entry's place in the shard's index.
	hash uint64

	limit       int
	window      int64
	hold        int64
	lockedUntil int64

	// times: rate hits, or lockout failures.
	times ring
	// vals/seen: distinct values and when each was last seen, oldest first.
	vals []uint64
	seen []int64
	// held: in-flight lockout reservations, oldest first.
	held []int64

	// prev, next: LRU neighbours (slab indices, -1 at either end) while
	// the entry is evictable; next also chains free entries. heapIdx is
	// the entry's place in the pin heap while pinned, -1 otherwise. chain
	// is the next entry whose key has the same hash, -1 at the end.
	prev, next, heapIdx, chain int32
	kind                       kind
}

func (e *entry) reset(k kind) {
	e.kind = k
	e.times.reset()
	e.vals, e.seen, e.held = e.vals[:0], e.seen[:0], e.held[:0]
	e.lockedUntil = 0
}

// prune forgets what left the window at now.
func (e *entry) prune(now int64) {
	switch e.kind {
	case kindRate:
		e.times.dropThrough(now - e.window)
	case kindDistinct:
		i := 0
		for i < len(e.seen) && e.seen[i] <= now-e.window {
			i++
		}
		if i > 0 {
			e.vals = append(e.vals[:0], e.vals[i:]...)
			e.seen = append(e.seen[:0], e.seen[i:]...)
		}
	case kindLockout:
		e.times.dropThrough(now - e.window)
		i := 0
		for i < len(e.held) && e.held[i] <= now-e.hold {
			i++
		}
		if i > 0 {
			e.held = append(e.held[:0], e.held[i:]...)
		}
		if e.lockedUntil <= now {
			e.lockedUntil = 0
		}
	}
}

// count is the number of events that weigh against the limit (after prune).
func (e *entry) count() int {
	switch e.kind {
	case kindDistinct:
		return len(e.vals)
	case kindLockout:
		return e.times.len() + len(e.held)
	}
	return e.times.len()
}

// limitedUntil reports whether the next new event would be refused (after
// prune) and when that stops being true if nothing else happens.
func (e *entry) limitedUntil(now int64) (int64, bool) {
	switch e.kind {
	case kindRate:
		if e.times.len() >= e.limit {
			return e.times.oldest() + e.window, true
		}
	case kindDistinct:
		if len(e.vals) >= e.limit {
			return e.seen[0] + e.window, true
		}
	case kindLockout:
		if e.lockedUntil > now {
			return e.lockedUntil, true
		}
		if e.count() >= e.limit {
			// The first slot to free: the oldest reservation expiring or
			// the oldest failure leaving the window.
			t := int64(-1)
			if len(e.held) > 0 {
				t = e.held[0] + e.hold
			}
			if e.times.len() > 0 && (t < 0 || e.times.oldest()+e.window < t) {
				t = e.times.oldest() + e.window
			}
			return t, true
		}
	}
	return 0, false
}

// pinnedUntil reports whether the entry must not be evicted (after prune):
// it is limited, locked, or holds in-flight reservations whose loss would
// let concurrent attempts overshoot. The time is when to look again.
func (e *entry) pinnedUntil(now int64) (int64, bool) {
	if t, ok := e.limitedUntil(now); ok {
		return t, true
	}
	if e.kind == kindLockout && len(e.held) > 0 {
		return e.held[0] + e.hold, true
	}
	return 0, false
}

// empty reports whether the entry holds nothing (after prune): dropping it
// loses no information.
func (e *entry) empty() bool {
	return e.times.len() == 0 && len(e.vals) == 0 && len(e.held) == 0 && e.lockedUntil == 0
}

func (e *entry) bytes() int {
	return entryOverhead + len(e.key.Subject) + e.times.bytes() +
		8*cap(e.vals) + 8*cap(e.seen) + 8*cap(e.held)
}
