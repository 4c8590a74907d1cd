package counter

// inlineTimes is how many event times a ring keeps inside its entry
// before it needs a buffer of its own. Most keys of a credential-stuffing
// wave hold one hit, so they allocate nothing beside their entry.
const inlineTimes = 2

// ring is a FIFO of event times, oldest first. It holds up to inlineTimes
// times inline; past that it moves them to buf, which grows on demand up
// to the limit it is pushed with, so a key that saw a few hits holds a few
// slots rather than its rule's whole limit. Once made, buf stays in use
// (reset keeps it) until the entry is released: a key that needed it once
// is likely to need it again.
type ring struct {
	inl  [inlineTimes]int64
	buf  []int64
	head int32
	n    int32
}

// slots is where the times are: buf once it exists, the inline array
// before. The slice is taken afresh on each call and never kept: buf
// never points into an entry, so blanking or reusing one leaves no
// slice behind that aliases its inline times.
func (r *ring) slots() []int64 {
	if r.buf != nil {
		return r.buf
	}
	return r.inl[:]
}

func (r *ring) push(t int64, limit int) {
	s := r.slots()
	if int(r.n) == len(s) {
		c := 2 * len(s)
		if c < 4 {
			c = 4
		}
		if c > limit && limit > int(r.n) {
			c = limit
		}
		nb := make([]int64, c)
		for i := 0; i < int(r.n); i++ {
			nb[i] = s[(int(r.head)+i)%len(s)]
		}
		r.buf, r.head = nb, 0
		s = nb
	}
	s[(int(r.head)+int(r.n))%len(s)] = t
	r.n++
}

// len is the number of times held.
func (r *ring) len() int { return int(r.n) }

func (r *ring) oldest() int64 { return r.slots()[r.head] }

func (r *ring) newest() int64 {
	s := r.slots()
	return s[(int(r.head)+int(r.n)-1)%len(s)]
}

// dropThrough removes every time <= cut: events that left the window.
func (r *ring) dropThrough(cut int64) {
	s := r.slots()
	for r.n > 0 && s[r.head] <= cut {
		r.head = int32((int(r.head) + 1) % len(s))
		r.n--
	}
	if r.n == 0 {
		r.head = 0
	}
}

func (r *ring) reset() { r.head, r.n = 0, 0 }

// bytes counts the buffer only: the inline slots are part of the entry.
func (r *ring) bytes() int { return 8 * cap(r.buf) }
