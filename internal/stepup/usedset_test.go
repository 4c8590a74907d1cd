package stepup

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestUsedSet(t *testing.T) {
	s := NewUsedSet(3)
	for i := 0; i < 3; i++ {
		ok, err := s.Mark(fmt.Sprint(i), t0.Add(time.Duration(3-i)*time.Minute), t0)
		if !ok || err != nil {
			t.Fatalf("mark %d: %v %v", i, ok, err)
		}
	}
	if ok, err := s.Mark("1", t0.Add(time.Hour), t0); ok || err != nil {
		t.Fatalf("second mark of a spent id: %v %v", ok, err)
	}
	if _, err := s.Mark("new", t0.Add(time.Hour), t0); !errors.Is(err, ErrUsedSetFull) {
		t.Fatalf("full set accepted a new id: %v", err)
	}
	// "2" expires first (heap order, not insertion order).
	at := t0.Add(time.Minute)
	if s.Seen("2", at) {
		t.Fatal("expired id still seen")
	}
	if ok, err := s.Mark("new", t0.Add(time.Hour), at); !ok || err != nil {
		t.Fatalf("mark after expiry: %v %v", ok, err)
	}
	if !s.Seen("0", at) || !s.Seen("1", at) || s.Len() != 3 {
		t.Fatalf("unexpired ids lost: len %d", s.Len())
	}
	if err := s.Destruct(); err != nil || s.Len() != 0 {
		t.Fatal("destruct did not empty the set")
	}
}

// An id is spent until exactly its expiry, and Destruct forgets the
// expiries with the ids (a stale one must not forget an id spent later).
func TestUsedSetEdges(t *testing.T) {
	s := NewUsedSet(10)
	exp := t0.Add(time.Minute)
	s.Mark("a", exp, t0)
	if !s.Seen("a", exp.Add(-time.Nanosecond)) || s.Seen("a", exp) {
		t.Fatal("spent until, and not at, its expiry")
	}
	_ = s.Destruct()
	s.Mark("a", t0.Add(time.Hour), t0)
	if ok, err := s.Mark("b", t0.Add(time.Hour), exp); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if !s.Seen("a", exp) {
		t.Fatal("an id spent after Destruct forgotten at an expiry from before it")
	}
}
