package expiry

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Entries come out in expiry order, whether pushed one by one or put in
// order by Init.
func TestHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pushed, filled Heap
	var want []int64
	for i := range 1000 {
		at := r.Int64N(500) // many equal times
		pushed.Push(Entry{Key: uint64(i), At: at})
		filled = append(filled, Entry{Key: uint64(i), At: at})
		want = append(want, at)
	}
	filled.Init()
	slices.Sort(want)
	for _, h := range []*Heap{&pushed, &filled} {
		for i, at := range want {
			if e := h.Pop(); e.At != at {
				t.Fatalf("pop %d: %d, want %d", i, e.At, at)
			}
		}
		if len(*h) != 0 {
			t.Fatalf("%d left", len(*h))
		}
	}
}
