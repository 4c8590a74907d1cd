package newest

import "testing"

func TestNewestStillHeld(t *testing.T) {
	var s Values[string]
	applied := ""
	apply := func(v string) { applied = v }
	a, b, c := new(int), new(int), new(int)
	s.Hold(a, "A", apply)
	s.Hold(b, "B", apply)
	if applied != "B" {
		t.Fatalf("applied %q on hold", applied)
	}
	// b started, then failed: its value goes, a's is the newest again.
	if v, ok := s.Let(b, apply); !ok || v != "A" || applied != "A" {
		t.Fatalf("after the newer one let go: %q %v", v, ok)
	}
	// A reload that succeeds: c takes hold, then a lets go; c stays.
	s.Hold(c, "C", apply)
	if v, ok := s.Let(a, apply); !ok || v != "C" || applied != "C" {
		t.Fatalf("after the older one let go: %q %v", v, ok)
	}
	// Holding again moves an owner to the end.
	s.Hold(a, "A2", apply)
	s.Hold(c, "C2", apply)
	if v, ok := s.Let(new(int), apply); !ok || v != "C2" {
		t.Fatalf("an unknown owner letting go: %q %v", v, ok)
	}
	s.Let(c, apply)
	applied = "unchanged"
	if v, ok := s.Let(a, apply); ok || v != "" || applied != "unchanged" {
		t.Fatalf("the last one let go: %q %v", v, ok)
	}
}
