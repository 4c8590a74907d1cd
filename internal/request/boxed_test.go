package request

import (
	"strconv"
	"testing"
)

// TestBoxedIsSharedAndBounded: a string is boxed once and the box reused;
// past the bound, strings are still boxed correctly, just not kept.
func TestBoxedIsSharedAndBounded(t *testing.T) {
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
