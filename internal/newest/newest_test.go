package newest

import "testing"

func TestNewestStillHeld(t *testing.T) {
	var s Values[string]
	a, b, c := new(int), new(int), new(int)
	s.Hold(a, "A")
	s.Hold(b, "B")
	// b started, then failed: its value goes, a's is the newest again.
	if v, ok := s.Let(b); !ok || v != "A" {
		t.Fatalf("after the newer one let go: %q %v", v, ok)
	}
	// A reload that succeeds: c takes hold, then a lets go; c stays.
	s.Hold(c, "C")
	if v, ok := s.Let(a); !ok || v != "C" {
		t.Fatalf("after the older one let go: %q %v", v, ok)
	}
	// Holding again moves an owner to the end.
	s.Hold(a, "A2")
	s.Hold(c, "C2")
	if v, ok := s.Let(new(int)); !ok || v != "C2" {
		t.Fatalf("an unknown owner letting go: %q %v", v, ok)
	}
	s.Let(c)
	if v, ok := s.Let(a); ok || v != "" {
		t.Fatalf("the last one let go: %q %v", v, ok)
	}
}
