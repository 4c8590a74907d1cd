// Package expiry is a min-heap of hashed keys by expiry time, for the
// bounded in-process sets that forget what has expired: revoked sessions,
// spent step-up tokens, refused-factor counts. Each keeps a map from a
// key's 64-bit hash to its expiry and this heap beside it, so forgetting
// what expired costs O(log n) an entry and holds no string or pointer for
// the collector to trace.
package expiry

// Entry is one key's expiry.
type Entry struct {
	Key uint64 // the key's hash
	At  int64  // Unix nanoseconds
}

// Heap is a min-heap of entries by At. It is typed rather than built on
// container/heap, whose interface would box every entry pushed.
type Heap []Entry

// Push adds e.
func (h *Heap) Push(e Entry) {
	s := append(*h, e)
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[i].At >= s[p].At {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
	*h = s
}

// Pop removes and returns the entry that expires first; h must not be
// empty.
func (h *Heap) Pop() Entry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	s.down(0)
	*h = s
	return top
}

// Init puts h's entries, in any order, in heap order: a set whose heap
// has filled with entries its map no longer holds (keys forgotten or
// renewed) refills it from the map and calls Init.
func (h Heap) Init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h Heap) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h) && h[l].At < h[small].At {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].At < h[small].At {
			small = r
		}
		if small == i {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}
