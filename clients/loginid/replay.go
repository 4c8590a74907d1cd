package loginid

import (
	"container/heap"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a ReplayCache returns from Remember.
var (
	// ErrReplayed: the key is already remembered and has not expired.
	ErrReplayed = errors.New("loginid: token already used")
	// ErrReplayCacheFull: the cache holds its maximum of unexpired keys;
	// the token is refused because it could not be remembered.
	ErrReplayCacheFull = errors.New("loginid: replay cache full")
)

// ReplayKey identifies one token use: a SHA-256 over the nonce (or over the
// whole token when it has no nonce), so entries have a fixed size whatever
// the token holds.
type ReplayKey [32]byte

// ReplayCache remembers which tokens were used. It must be exact: a key
// remembered until t is refused by every Remember before t. Implementations
// must be safe for concurrent use.
type ReplayCache interface {
	// Remember records key until the given time, atomically with the
	// check: ErrReplayed when key is already there, ErrReplayCacheFull
	// when it cannot be recorded, nil when it was recorded. now is the
	// caller's clock, used to expire old entries.
	Remember(key ReplayKey, until, now time.Time) error
}

const replayShards = 32

// MemoryReplayCache is an exact, bounded, in-process ReplayCache: sharded
// maps with a per-shard expiry heap, so expiring entries costs O(log n)
// each and never a scan. It holds at most max unexpired entries in total;
// when full it refuses (ErrReplayCacheFull) rather than forget anything.
//
// It is deliberately not built on ristretto: ristretto may drop a Set,
// which here would let a token be replayed.
type MemoryReplayCache struct {
	max    int64
	count  atomic.Int64
	shards [replayShards]replayShard
}

type replayShard struct {
	mu      sync.Mutex
	entries map[ReplayKey]int64 // expiry, unix nanoseconds
	byTime  expiryHeap
}

// NewMemoryReplayCache makes a cache for at most max entries (max > 0).
// Keep one across config reloads when possible: a new cache forgets the
// tokens already used.
func NewMemoryReplayCache(max int) *MemoryReplayCache {
	if max < 1 {
		max = 1
	}
	c := &MemoryReplayCache{max: int64(max)}
	for i := range c.shards {
		c.shards[i].entries = make(map[ReplayKey]int64)
	}
	return c
}

// Len is the number of entries held, expired ones not yet purged included.
func (c *MemoryReplayCache) Len() int { return int(c.count.Load()) }

// Remember implements ReplayCache.
func (c *MemoryReplayCache) Remember(key ReplayKey, until, now time.Time) error {
	sh := &c.shards[key[0]%replayShards]
	n, exp := now.UnixNano(), until.UnixNano()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	c.purgeLocked(sh, n)
	if old, ok := sh.entries[key]; ok && old > n {
		return ErrReplayed
	}
	if c.count.Add(1) > c.max {
		c.count.Add(-1)
		// Other shards may hold expired entries: purge them and try once
		// more before refusing. Only this shard's lock is held while the
		// others are purged one at a time, so no lock order cycle exists.
		c.purgeOthers(sh, n)
		if c.count.Add(1) > c.max {
			c.count.Add(-1)
			return ErrReplayCacheFull
		}
	}
	sh.entries[key] = exp
	heap.Push(&sh.byTime, expiryItem{exp: exp, key: key})
	return nil
}

// purgeLocked drops sh's entries expired at n. sh.mu must be held.
func (c *MemoryReplayCache) purgeLocked(sh *replayShard, n int64) {
	for len(sh.byTime) > 0 && sh.byTime[0].exp <= n {
		it := heap.Pop(&sh.byTime).(expiryItem)
		// The map may hold a newer expiry for the same key (re-used after
		// it expired): only drop the entry this heap item stands for.
		if cur, ok := sh.entries[it.key]; ok && cur == it.exp {
			delete(sh.entries, it.key)
			c.count.Add(-1)
		}
	}
}

func (c *MemoryReplayCache) purgeOthers(held *replayShard, n int64) {
	for i := range c.shards {
		sh := &c.shards[i]
		if sh == held {
			continue
		}
		// TryLock: a shard busy on another goroutine is being purged or
		// filled right now; waiting on it while holding ours could
		// deadlock with that goroutine doing the same.
		if !sh.mu.TryLock() {
			continue
		}
		c.purgeLocked(sh, n)
		sh.mu.Unlock()
	}
}

type expiryItem struct {
	exp int64
	key ReplayKey
}

// expiryHeap is a min-heap of expiries (container/heap).
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
