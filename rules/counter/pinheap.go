package counter

// pin is a pinned entry's place in the heap: when to look at it again,
// kept here so that ordering the heap reads no entry.
type pin struct {
	recheck int64
	id      int32
}

// pinHeap is a min-heap of pinned entries by recheck time that keeps each
// entry's heapIdx in step with its place. It is written out rather than
// built on container/heap, whose Push and Pop take an interface and would
// allocate a box for every pin.
type pinHeap struct {
	items []pin
	slab  *slab
}

func (h *pinHeap) set(i int, p pin) {
	h.items[i] = p
	h.slab.at(p.id).heapIdx = int32(i)
}

func (h *pinHeap) push(p pin) {
	h.items = append(h.items, pin{})
	h.set(len(h.items)-1, p)
	h.up(len(h.items) - 1)
}

// fix restores the order after items[i].recheck changed.
func (h *pinHeap) fix(i int32) {
	if !h.down(int(i)) {
		h.up(int(i))
	}
}

// remove takes items[i] out; its entry's heapIdx becomes -1.
func (h *pinHeap) remove(i int32) {
	n := len(h.items) - 1
	gone := h.items[i].id
	if int(i) != n {
		h.set(int(i), h.items[n])
	}
	h.items = h.items[:n]
	if int(i) < n && !h.down(int(i)) {
		h.up(int(i))
	}
	h.slab.at(gone).heapIdx = -1
}

// up sifts items[i] towards the root. An item already in place is not
// written again: settling a pinned entry (every refused hit) mostly leaves
// it where it was.
func (h *pinHeap) up(i0 int) {
	i, p := i0, h.items[i0]
	for i > 0 {
		parent := (i - 1) / 2
		if h.items[parent].recheck <= p.recheck {
			break
		}
		h.set(i, h.items[parent])
		i = parent
	}
	if i != i0 {
		h.set(i, p)
	}
}

// down sifts items[i] towards the leaves and reports whether it moved.
func (h *pinHeap) down(i0 int) bool {
	i, p, n := i0, h.items[i0], len(h.items)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.items[r].recheck < h.items[c].recheck {
			c = r
		}
		if p.recheck <= h.items[c].recheck {
			break
		}
		h.set(i, h.items[c])
		i = c
	}
	if i == i0 {
		return false
	}
	h.set(i, p)
	return true
}
