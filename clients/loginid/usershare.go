package loginid

import (
	"hash/maphash"
	"sync"

	"github.com/login-guard/login_guard/rules"
)

// userShares bounds how many of the replay cache's unexpired entries one
// user's tokens hold, so that one account minting fresh tokens for its
// own name cannot fill a bounded cache and have every other user's token
// refused (replay_cache_full) until the entries expire.
//
// A user is the token's user claim in the guard's counting form
// (rules.Normalizer{}.User: trimmed, NFKC, case and accents folded), so
// spellings of one name a portal and LoginID may take for the same
// account ("Mallory", "mallory ") share one allowance. It is hashed with
// a seed of this process, so nobody can pick a name whose hash is
// another's.
//
// Each Remember is taken as a slot before the replay cache is asked
// (take), then kept until the entry's expiry (keep) or given back when
// the cache recorded nothing (give), so concurrent tokens of one user
// never exceed the bound and no lock is held while the cache is asked
// (it may be a network store). The counts are not saved: after a restart,
// or a reload (which builds a new Verifier), the tokens used before are
// still refused as replays but count for nobody.
//
// Memory: a map entry per user holding slots and 16 bytes per kept slot,
// each slot standing for a replay cache entry; every take first drops
// the slots expired, so what is held never outgrows the cache's own
// unexpired entries plus the slots being checked.
type userShares struct {
	max  int32
	seed maphash.Seed

	mu    sync.Mutex
	count map[uint64]int32 // user -> slots taken and not yet expired or given back
	kept  shareHeap        // kept slots, by expiry
}

func newUserShares(max int) *userShares {
	return &userShares{max: int32(max), seed: maphash.MakeSeed(), count: make(map[uint64]int32)}
}

// user is the key user's tokens are counted under.
func (s *userShares) user(name string) uint64 {
	return maphash.String(s.seed, rules.Normalizer{}.User(name))
}

// take takes one of user's slots at now (Unix nanoseconds), reporting
// false when the user already holds max.
func (s *userShares) take(user uint64, now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.kept) > 0 && s.kept[0].at <= now {
		s.release(s.kept.pop().user)
	}
	if s.count[user] >= s.max {
		return false
	}
	s.count[user]++
	return true
}

// keep holds a slot take gave until at, when its replay entry expires.
func (s *userShares) keep(user uint64, at int64) {
	s.mu.Lock()
	s.kept.push(shareSlot{at: at, user: user})
	s.mu.Unlock()
}

// give gives back a slot take gave, for a token the cache did not record.
func (s *userShares) give(user uint64) {
	s.mu.Lock()
	s.release(user)
	s.mu.Unlock()
}

// release drops one of user's slots. s.mu is held.
func (s *userShares) release(user uint64) {
	if n := s.count[user] - 1; n > 0 {
		s.count[user] = n
	} else {
		delete(s.count, user)
	}
}

type shareSlot struct {
	at   int64 // Unix nanoseconds
	user uint64
}

// shareHeap is a min-heap of slots by expiry, typed rather than built on
// container/heap, whose interface would box every slot pushed.
type shareHeap []shareSlot

func (h *shareHeap) push(e shareSlot) {
	s := append(*h, e)
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[i].at >= s[p].at {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
	*h = s
}

// pop removes and returns the slot that expires first; h is not empty.
func (h *shareHeap) pop() shareSlot {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(s) && s[l].at < s[small].at {
			small = l
		}
		if r := l + 1; r < len(s) && s[r].at < s[small].at {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
	return top
}
