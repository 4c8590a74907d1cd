package loginid

import (
	"sync"
	"time"
)

// negCache remembers kids the key host said it does not know, so the same
// bogus kid does not spend a fetch token every time. It is bounded: when
// full it drops expired entries, then an arbitrary one. Losing an entry
// only costs a (rate-limited) refetch. Entries are added only after a real
// fetch, which the token bucket already limits, so this path is cold.
type negCache struct {
	mu  sync.Mutex
	max int
	m   map[string]time.Time
}

func newNegCache(max int) *negCache {
	return &negCache{max: max, m: make(map[string]time.Time)}
}

func (n *negCache) has(kid string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.m[kid]
	if !ok {
		return false
	}
	if now.Before(until) {
		return true
	}
	delete(n.m, kid)
	return false
}

func (n *negCache) add(kid string, until, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.m[kid]; !ok && len(n.m) >= n.max {
		for k, u := range n.m {
			if !now.Before(u) {
				delete(n.m, k)
			}
		}
		for k := range n.m {
			if len(n.m) < n.max {
				break
			}
			delete(n.m, k)
		}
	}
	n.m[kid] = until
}

func (n *negCache) remove(kid string) {
	n.mu.Lock()
	delete(n.m, kid)
	n.mu.Unlock()
}

func (n *negCache) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.m)
}
