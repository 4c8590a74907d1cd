package counter

// ring is a FIFO of event times, oldest first. It grows on demand up to
// the limit it is pushed with, so a key that saw one hit holds one slot
// rather than its rule's whole limit.
type ring struct {
	buf  []int64
	head int
	n    int
}

func (r *ring) push(t int64, limit int) {
	if r.n == len(r.buf) {
		c := 2 * len(r.buf)
		if c < 4 {
			c = 4
		}
		if c > limit && limit > r.n {
			c = limit
		}
		nb := make([]int64, c)
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = t
	r.n++
}

func (r *ring) oldest() int64 { return r.buf[r.head] }

func (r *ring) newest() int64 { return r.buf[(r.head+r.n-1)%len(r.buf)] }

// dropThrough removes every time <= cut: events that left the window.
func (r *ring) dropThrough(cut int64) {
	for r.n > 0 && r.buf[r.head] <= cut {
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if r.n == 0 {
		r.head = 0
	}
}

func (r *ring) reset() { r.head, r.n = 0, 0 }

func (r *ring) bytes() int { return 8 * cap(r.buf) }
