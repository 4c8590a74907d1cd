package counter

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys is the store size when MemoryConfig.MaxKeys is zero:
// about 27 MB at the approximate sizes given on Memory.
const DefaultMaxKeys = 100_000

// MemoryConfig configures a Memory store.
type MemoryConfig struct {
	// MaxKeys bounds the number of keys held (default DefaultMaxKeys).
	MaxKeys int
	// Clock reads the time; default time.Now. Tests inject a fake clock.
	// All windows are measured on this clock, never on Attempt.Time.
	Clock func() time.Time
	// Shards is the number of independently locked parts; default scales
	// with MaxKeys up to 64. Each shard holds at most its share of
	// MaxKeys, so the bound is exact; a store with several shards may
	// report Full while another shard still has room.
	Shards int
}

// Memory is the in-process Store. Memory per key is roughly 250 bytes plus
// the subject's length plus 8 bytes per event slot beyond the first two
// hits or failures, which the entry holds itself: a rate key holds at
// most limit slots, a lockout key at most limit failure and reservation
// slots, a distinct key 16 bytes per distinct value (at most limit).
// Slots grow on demand, so most keys cost far less than their worst case.
// The room for entries (about 220 of the 250 bytes) is kept once made: a
// store that was full holds it after its keys go, ready for the next wave,
// and Stats.Bytes counts only the keys held.
// Memory starts no goroutine; expired keys are dropped lazily, when room is
// needed or when a key is touched.
type Memory struct {
	shards []shardLock
	seed   maphash.Seed
	clock  func() time.Time
	base   time.Time
	max    int
	// realClock: clock is time.Now.
	realClock bool
	// hashMask keeps every bit of a key's hash; tests narrow it so that
	// keys collide and the index's chains are exercised.
	hashMask uint64
}

type shardLock struct {
	mu sync.Mutex
	*shard
	_ [40]byte // keep neighbouring locks off one cache line
}

// NewMemory builds a Memory store.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.MaxKeys < 0 || cfg.Shards < 0 {
		return nil, errors.New("counter: max keys and shards must not be negative")
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	realClock := cfg.Clock == nil
	if realClock {
		cfg.Clock = time.Now
	}
	n := cfg.Shards
	if n == 0 {
		n = 1
		for n < 64 && cfg.MaxKeys/(2*n) >= 1024 {
			n *= 2
		}
	}
	if n > cfg.MaxKeys {
		n = cfg.MaxKeys
	}
	if share := cfg.MaxKeys/n + min(cfg.MaxKeys%n, 1); share > math.MaxInt32 {
		// Entries are named by int32 index within their shard.
		return nil, errors.New("counter: too many keys for each shard to hold; use more shards")
	}
	m := &Memory{
		shards: make([]shardLock, n),
		seed:   maphash.MakeSeed(),
		clock:  cfg.Clock,
		max:    cfg.MaxKeys,
		// The real clock is read through time.Since, which reads only
		// the monotonic clock (time.Now reads the wall clock as well);
		// the answer is the same, as Sub uses the monotonic readings.
		realClock: realClock,
		hashMask:  ^uint64(0),
	}
	// The base lies a day back so that times stay positive (a zero token
	// means "no reservation") even if the clock steps back a little.
	m.base = cfg.Clock().Add(-baseLead)
	for i := range m.shards {
		share := cfg.MaxKeys / n
		if i < cfg.MaxKeys%n {
			share++
		}
		m.shards[i].shard = newShard(share)
	}
	return m, nil
}

const baseLead = 24 * time.Hour

// now is the store-relative time in nanoseconds, always >= 1 so that a
// reservation token is never zero.
func (m *Memory) now() int64 {
	var d int64
	if m.realClock {
		d = int64(time.Since(m.base))
	} else {
		d = int64(m.clock().Sub(m.base))
	}
	if d < 1 {
		d = 1
	}
	return d
}

func (m *Memory) abs(t int64) time.Time { return m.base.Add(time.Duration(t)) }

// locate returns k's shard and k's hash, its place in the shard's index.
// The shard is picked by the subject's hash alone (subjects spread keys
// evenly), so a subject's keys for every rule share a shard; the key's
// hash mixes in the rule's, so that those keys seldom share a slot there.
func (m *Memory) locate(k Key) (*shardLock, uint64) {
	sh := maphash.String(m.seed, k.Subject)
	h := (sh*0x9e3779b97f4a7c15 + maphash.String(m.seed, k.Rule)) & m.hashMask
	if len(m.shards) == 1 {
		return &m.shards[0], h
	}
	return &m.shards[sh%uint64(len(m.shards))], h
}

// floor keeps an entry's times non-decreasing even if the clock steps
// back: a wall clock adjusted backwards must not reorder a window's log.
func floor(now int64, e *entry) int64 {
	if e.times.len() > 0 && e.times.newest() > now {
		now = e.times.newest()
	}
	if n := len(e.seen); n > 0 && e.seen[n-1] > now {
		now = e.seen[n-1]
	}
	if n := len(e.held); n > 0 && e.held[n-1] > now {
		now = e.held[n-1]
	}
	return now
}

func checkLimit(limit int, window time.Duration) error {
	if limit < 1 || window <= 0 {
		return errors.New("counter: limit and window must be positive")
	}
	return nil
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, k Key, limit int, window time.Duration) (Result, error) {
	return m.take(k, limit, window, m.now())
}

func (m *Memory) take(k Key, limit int, window time.Duration, now int64) (Result, error) {
	if err := checkLimit(limit, window); err != nil {
		return Result{}, err
	}
	s, h := m.locate(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, e := s.obtain(k, h, kindRate, now)
	if e == nil {
		return Result{Full: true}, nil
	}
	before := e.bytes()
	e.limit, e.window = limit, int64(window)
	now = floor(now, e)
	e.prune(now)
	var r Result
	if e.times.len() >= limit {
		r.RetryAfter = time.Duration(e.times.oldest() + e.window - now)
	} else {
		e.times.push(now, limit)
		r.Allowed = true
	}
	r.Count = e.times.len()
	s.settle(id, now, before)
	return r, nil
}

// TakeDistinct implements Store.
func (m *Memory) TakeDistinct(_ context.Context, k Key, value string, limit int, window time.Duration) (Result, error) {
	return m.takeDistinct(k, value, limit, window, m.now())
}

func (m *Memory) takeDistinct(k Key, value string, limit int, window time.Duration, now int64) (Result, error) {
	if err := checkLimit(limit, window); err != nil {
		return Result{}, err
	}
	v := maphash.String(m.seed, value)
	s, h := m.locate(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, e := s.obtain(k, h, kindDistinct, now)
	if e == nil {
		return Result{Full: true}, nil
	}
	before := e.bytes()
	e.limit, e.window = limit, int64(window)
	now = floor(now, e)
	e.prune(now)
	var r Result
	i := indexOf(e.vals, v)
	switch {
	case i >= 0:
		// Seen before: move to the back with a fresh time.
		copy(e.vals[i:], e.vals[i+1:])
		copy(e.seen[i:], e.seen[i+1:])
		e.vals[len(e.vals)-1], e.seen[len(e.seen)-1] = v, now
		r.Allowed = true
	case len(e.vals) >= limit:
		r.RetryAfter = time.Duration(e.seen[0] + e.window - now)
	default:
		e.vals = append(e.vals, v)
		e.seen = append(e.seen, now)
		r.Allowed = true
	}
	r.Count = len(e.vals)
	s.settle(id, now, before)
	return r, nil
}

func indexOf(vals []uint64, v uint64) int {
	for i, x := range vals {
		if x == v {
			return i
		}
	}
	return -1
}

func checkLockout(l Lockout) error {
	if l.Limit < 1 || l.Window <= 0 || l.LockFor <= 0 || l.Hold <= 0 {
		return errors.New("counter: lockout limit, window, duration and hold must be positive")
	}
	return nil
}

func (e *entry) setLockout(l Lockout) {
	e.limit, e.window, e.hold = l.Limit, int64(l.Window), int64(l.Hold)
}

// Reserve implements Store.
func (m *Memory) Reserve(_ context.Context, k Key, l Lockout) (Result, error) {
	return m.reserve(k, l, m.now())
}

func (m *Memory) reserve(k Key, l Lockout, now int64) (Result, error) {
	if err := checkLockout(l); err != nil {
		return Result{}, err
	}
	s, h := m.locate(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, e := s.obtain(k, h, kindLockout, now)
	if e == nil {
		return Result{Full: true}, nil
	}
	before := e.bytes()
	e.setLockout(l)
	now = floor(now, e)
	e.prune(now)
	var r Result
	if until, limited := e.limitedUntil(now); limited {
		r.Locked = e.lockedUntil > now
		r.RetryAfter = time.Duration(until - now)
	} else {
		e.held = append(e.held, now)
		r.Allowed, r.Token = true, now
	}
	r.Count = e.count()
	s.settle(id, now, before)
	return r, nil
}

// PeekLockout implements Store.
func (m *Memory) PeekLockout(_ context.Context, k Key, l Lockout) (Result, error) {
	return m.peekLockout(k, l, m.now())
}

// peekLockout reads k's entry under its shard's lock and changes nothing:
// no prune, no place in the LRU, no entry made for a key not held.
func (m *Memory) peekLockout(k Key, l Lockout, now int64) (Result, error) {
	if err := checkLockout(l); err != nil {
		return Result{}, err
	}
	s, h := m.locate(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.lookup(k, h); e != nil && e.kind == kindLockout {
		if now = floor(now, e); e.lockedUntil > now {
			return Result{Locked: true, RetryAfter: time.Duration(e.lockedUntil - now)}, nil
		}
	}
	return Result{Allowed: true}, nil
}

// Settle implements Store.
func (m *Memory) Settle(_ context.Context, k Key, l Lockout, token int64, st Settlement) (bool, error) {
	return m.settle(k, l, token, st, m.now())
}

// settle is Settle at now; now 0 (a release or a success in a batch that
// read no clock, see settlesOnly) runs it at the key's newest time.
func (m *Memory) settle(k Key, l Lockout, token int64, st Settlement, now int64) (bool, error) {
	if err := checkLockout(l); err != nil {
		return false, err
	}
	if now == 0 && st == Failure {
		now = m.now()
	}
	s, h := m.locate(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	var id int32
	var e *entry
	if st == Failure {
		id, e = s.obtain(k, h, kindLockout, now)
	} else if id, e = s.lookup(k, h); e != nil && e.kind != kindLockout {
		e = nil
	}
	if e == nil {
		return st != Failure, nil
	}
	before := e.bytes()
	e.setLockout(l)
	now = max(floor(now, e), 1)
	e.prune(now)
	if token != 0 {
		if i := indexOf64(e.held, token); i >= 0 {
			e.held = append(e.held[:i], e.held[i+1:]...)
		}
	}
	switch st {
	case Failure:
		e.times.push(now, l.Limit)
		if e.times.len() >= l.Limit {
			// Locked: the failures are spent; after the lock the user
			// starts again with a full allowance.
			e.lockedUntil = now + int64(l.LockFor)
			e.times.reset()
		}
	case Success:
		e.times.reset()
		e.lockedUntil = 0
	}
	s.settle(id, now, before)
	return true, nil
}

// Batch implements Batcher: the operations of one attempt read the clock
// once, or not at all when they only give reservations back or record
// successes (see settlesOnly). Each stays atomic for its key, under its
// shard's lock; times read before a lock are kept in order per key by
// floor, as for concurrent single calls.
func (m *Memory) Batch(_ context.Context, ops []Op) {
	var now int64
	noClock := settlesOnly(ops)
	for i := range ops {
		op := &ops[i]
		if op.Kind == 0 {
			continue
		}
		if now == 0 && !noClock {
			now = m.now()
		}
		switch op.Kind {
		case OpTake:
			op.Result, op.Err = m.take(op.Key, op.Limit, op.Window, now)
		case OpTakeDistinct:
			op.Result, op.Err = m.takeDistinct(op.Key, op.Value, op.Limit, op.Window, now)
		case OpReserve:
			op.Result, op.Err = m.reserve(op.Key, op.Lockout, now)
		case OpSettle:
			op.Recorded, op.Err = m.settle(op.Key, op.Lockout, op.Token, op.Settlement, now)
		case OpPeekLockout:
			op.Result, op.Err = m.peekLockout(op.Key, op.Lockout, now)
		default:
			op.Err = errUnknownOp
		}
	}
}

// settlesOnly reports whether every operation of a batch settles a
// reservation without recording a failure (a login's success, an attempt
// that never reached the upstream). Such a settlement records no time: it
// only prunes, so it runs at its key's newest time (settle with now 0),
// a time this store read earlier (the reservation's own, at the latest).
// An earlier time prunes less, never wrongly: what it leaves is pruned by
// the key's next operation, which reads the clock. A failure is recorded
// at the time the upstream answered, and counting needs the present.
func settlesOnly(ops []Op) bool {
	for i := range ops {
		if op := &ops[i]; op.Kind != 0 && (op.Kind != OpSettle || op.Settlement == Failure) {
			return false
		}
	}
	return true
}

// compile-time check that Memory batches.
var _ Batcher = (*Memory)(nil)

func indexOf64(vals []int64, v int64) int {
	for i, x := range vals {
		if x == v {
			return i
		}
	}
	return -1
}
