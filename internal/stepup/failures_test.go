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

// A state counted again keeps its newest expiry: the older heap entry it
// left does not forget it, and it is forgotten exactly at the newest.
func TestFailureSetRenewal(t *testing.T) {
	s := NewFailureSet(10)
	s.Add("a", t0.Add(time.Minute), t0)
	s.Add("a", t0.Add(2*time.Minute), t0.Add(30*time.Second))
	if n, _ := s.Count("a", t0.Add(time.Minute)); n != 2 {
		t.Fatalf("at the first expiry, after a renewal: %d, want 2", n)
	}
	if n, _ := s.Count("a", t0.Add(2*time.Minute-time.Nanosecond)); n != 2 {
		t.Fatalf("just before the newest expiry: %d", n)
	}
	if n, _ := s.Count("a", t0.Add(2*time.Minute)); n != 0 {
		t.Fatalf("at the newest expiry: %d, want 0", n)
	}
	// A rebuilt heap keeps every count with its own time.
	for i := range 10 {
		s.Add(fmt.Sprint(i), t0.Add(time.Duration(i+3)*time.Minute), t0)
	}
	s.mu.Lock()
	s.rebuild()
	s.mu.Unlock()
	for i := range 10 {
		at := t0.Add(time.Duration(i+3) * time.Minute)
		if n, _ := s.Count(fmt.Sprint(i), at.Add(-time.Nanosecond)); n != 1 {
			t.Fatalf("state %d after a rebuild: %d", i, n)
		}
		if n, _ := s.Count(fmt.Sprint(i), at); n != 0 {
			t.Fatalf("state %d kept past its time after a rebuild", i)
		}
	}
	// Destruct empties both the counts and their expiries.
	s.Add("x", t0.Add(time.Hour), t0)
	_ = s.Destruct()
	s.Add("x", t0.Add(2*time.Hour), t0)
	if n, _ := s.Count("x", t0.Add(90*time.Minute)); n != 1 {
		t.Fatalf("after Destruct, a new count: %d", n)
	}
}
