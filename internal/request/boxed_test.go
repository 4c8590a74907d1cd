package request

import (
	"strconv"
	"testing"
)

// TestBoxedIsSharedAndBounded: a string is boxed once and the box reused;
// past the bound, strings are still boxed correctly, just not kept.
func TestBoxedIsSharedAndBounded(t *testing.T) {
	resetBoxes()
	a := boxed("rate_ip")
	if allocs := testing.AllocsPerRun(100, func() { _ = boxed("rate_ip") }); allocs != 0 {
		t.Errorf("a known string allocates %v times", allocs)
	}
	if b := boxed("rate_ip"); b != a || b.(string) != "rate_ip" {
		t.Fatalf("got %v", b)
	}
	for i := range 2 * int(maxBoxes) {
		s := "reason_" + strconv.Itoa(i)
		if got := boxed(s); got.(string) != s {
			t.Fatalf("boxed(%q) = %v", s, got)
		}
	}
	if n := boxCount.Load(); n > maxBoxes {
		t.Fatalf("%d boxes kept, bound %d", n, maxBoxes)
	}
	n := 0
	boxes.Range(func(any, any) bool { n++; return true })
	if n > int(maxBoxes) {
		t.Fatalf("%d boxes in the map, bound %d", n, maxBoxes)
	}
}

// TestBoxedSlotsNeverMixStrings: strings that share a recent slot, asked
// for in turn, each get their own box back.
func TestBoxedSlotsNeverMixStrings(t *testing.T) {
	resetBoxes()
	a, b := "deny_ip", "rate_ip" // same length, same last byte: one slot
	if recentSlot(a) != recentSlot(b) {
		t.Fatal("the test needs two strings of one slot")
	}
	for range 3 {
		for _, s := range []string{a, b, a, a, b, "", "x"} {
			if got := boxed(s); got.(string) != s {
				t.Fatalf("boxed(%q) = %q", s, got)
			}
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = boxed(a), boxed(b) }); allocs != 0 {
		t.Errorf("alternating known strings allocates %v times", allocs)
	}
}

// resetBoxes empties the kept boxes, so a test does not depend on what
// others boxed (a full set keeps nothing more).
func resetBoxes() {
	boxes.Clear()
	boxCount.Store(0)
	for i := range recent {
		recent[i].Store(nil)
	}
}
