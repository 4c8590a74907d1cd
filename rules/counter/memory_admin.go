package counter

import (
	"context"
	"sort"
	"time"
)

// List implements Store. Entries come sorted by rule then subject; keys
// whose window has passed are not listed. max <= 0 means no limit.
func (m *Memory) List(_ context.Context, f Filter, max int) ([]Entry, error) {
	var out []Entry
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now := m.now()
		for id := range s.slab.n {
			e := s.at(id)
			if e.kind == 0 || !f.matchKey(e.key) {
				continue // free, or not asked for
			}
			e.prune(now)
			if e.empty() {
				continue
			}
			until, limited := e.limitedUntil(now)
			if f.LimitedOnly && !limited {
				continue
			}
			en := Entry{Key: e.key, Kind: kindNames[e.kind], Count: e.count(), Limit: e.limit, Limited: limited}
			if limited {
				en.RetryAfter = time.Duration(until - now)
			}
			if e.lockedUntil > now {
				en.LockedUntil = m.abs(e.lockedUntil)
			}
			out = append(out, en)
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key.Rule != out[j].Key.Rule {
			return out[i].Key.Rule < out[j].Key.Rule
		}
		return out[i].Key.Subject < out[j].Key.Subject
	})
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// Clear implements Store.
func (m *Memory) Clear(_ context.Context, f Filter) (int, error) {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now := m.now()
		for id := range s.slab.n {
			e := s.at(id)
			if e.kind == 0 || !f.matchKey(e.key) {
				continue // free, or not asked for
			}
			if f.LimitedOnly {
				e.prune(now)
				if _, limited := e.limitedUntil(now); !limited {
					continue
				}
			}
			s.drop(id)
			n++
		}
		s.mu.Unlock()
	}
	return n, nil
}

// Stats implements Store.
func (m *Memory) Stats() Stats {
	st := Stats{MaxKeys: m.max}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		st.Keys += s.live
		st.Bytes += s.bytes
		st.Pinned += len(s.pinned.items)
		st.Evictions += s.evictions
		st.Refusals += s.refusals
		s.mu.Unlock()
	}
	return st
}

// compile-time check that Memory is a Store.
var _ Store = (*Memory)(nil)
