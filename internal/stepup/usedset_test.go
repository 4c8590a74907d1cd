package stepup

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
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
	if seen(t, s, "2", at) {
		t.Fatal("expired id still seen")
	}
	if ok, err := s.Mark("new", t0.Add(time.Hour), at); !ok || err != nil {
		t.Fatalf("mark after expiry: %v %v", ok, err)
	}
	if !seen(t, s, "0", at) || !seen(t, s, "1", at) || s.Len() != 3 {
		t.Fatalf("unexpired ids lost: len %d", s.Len())
	}
}

// seen is s.Seen, which in the process always can tell.
func seen(t *testing.T, s *UsedSet, id string, at time.Time) bool {
	t.Helper()
	ok, err := s.Seen(id, at)
	if err != nil {
		t.Fatalf("seen %q: %v", id, err)
	}
	return ok
}

// An id is spent until exactly its expiry; a spent id marked again with
// a later expiry stays spent until the later one.
func TestUsedSetEdges(t *testing.T) {
	s := NewUsedSet(10)
	exp := t0.Add(time.Minute)
	s.Mark("a", exp, t0)
	if !seen(t, s, "a", exp.Add(-time.Nanosecond)) || seen(t, s, "a", exp) {
		t.Fatal("spent until, and not at, its expiry")
	}
	if ok, err := s.Mark("a", t0.Add(time.Hour), t0); ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := s.Mark("b", t0.Add(time.Hour), exp); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if !seen(t, s, "a", exp) {
		t.Fatal("an id spent again until later forgotten at its first expiry")
	}
}

// TestUsedSetReadBackByAnotherSet: the spent tokens saved by one process
// are spent in the next (a restart), and a set of another kind (the
// revocations) is not read as one.
func TestUsedSetReadBackByAnotherSet(t *testing.T) {
	a := NewUsedSet(0)
	_, _ = a.Mark("stepup:h1", t0.Add(time.Hour), t0)
	snap, _ := a.AppendSnapshot(nil, t0)
	b := NewUsedSet(0)
	if n, _, err := b.Merge(snap, t0); err != nil || n != 1 {
		t.Fatalf("merged %d, %v", n, err)
	}
	if ok, err := b.Mark("stepup:h1", t0.Add(time.Hour), t0); ok || err != nil {
		t.Fatalf("a token spent before the restart is fresh after it: %v %v", ok, err)
	}
	other := append([]byte("LGREVOK1"), snap[8:]...)
	if _, _, err := NewUsedSet(0).Merge(other, t0); !errors.Is(err, expiry.ErrNotSnapshot) {
		t.Fatalf("a saved set of revocations read as spent tokens: %v", err)
	}
}
