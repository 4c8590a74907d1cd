package stepup

import (
	"fmt"
	"testing"
	"time"
)

func TestFailureSet(t *testing.T) {
	s := NewFailureSet(2)
	exp := t0.Add(time.Minute)
	for i, h := range []string{"a", "a", "b"} {
		if n, full := s.Add(h, exp, t0); full || n != map[int]int{0: 1, 1: 2, 2: 1}[i] {
			t.Fatalf("add %d (%s): %d %v", i, h, n, full)
		}
	}
	// Full: a new state is refused (the caller spends it), a state
	// already counted goes on counting.
	if _, full := s.Add("c", exp, t0); !full {
		t.Fatal("a full set counted a new state")
	}
	if n, full := s.Add("b", exp, t0); full || n != 2 {
		t.Fatalf("a counted state in a full set: %d %v", n, full)
	}
	// A spent state gives its room back.
	s.Forget("a")
	if n, full := s.Add("c", exp, t0); full || n != 1 {
		t.Fatalf("after a state was forgotten: %d %v", n, full)
	}
	// Past their time, states are forgotten and count from one again.
	later := exp.Add(time.Second)
	if n, full := s.Add("b", later.Add(time.Minute), later); full || n != 1 {
		t.Fatalf("an expired state's count: %d %v", n, full)
	}
	if s.Len() != 1 {
		t.Fatalf("%d states held, want 1 (c expired)", s.Len())
	}
}

// States spent or counted again leave heap entries behind; they never
// pile up beyond a bound of what the set holds.
func TestFailureSetHeapBounded(t *testing.T) {
	s := NewFailureSet(0)
	exp := t0.Add(time.Hour)
	for i := range 100_000 {
		h := fmt.Sprint(i % 10)
		s.Add(h, exp.Add(time.Duration(i)), t0)
		if i%3 == 0 {
			s.Forget(h)
		}
	}
	s.mu.Lock()
	heap, held := len(s.exp), len(s.m)
	s.mu.Unlock()
	if heap > 2*held+1024+1 {
		t.Fatalf("%d heap entries for %d states", heap, held)
	}
}
