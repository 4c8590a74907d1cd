package metrics

import (
	"fmt"
	"sync"
	"testing"
)

// counting is a stand-in vector: each series it makes is a new value.
type counting struct{ made []string }

func (c *counting) with(values ...string) *string {
	s := fmt.Sprint(values)
	c.made = append(c.made, s)
	return &s
}

// TestLabelledSameSeriesBySlotOrMap: values asked for again get their
// series back, whether a recent slot or the map answers, also when values
// that share a slot are asked for in turn; a known series costs no
// allocation.
func TestLabelledSameSeriesBySlotOrMap(t *testing.T) {
	var c counting
	var l labelled[*string]
	l.init(3, c.with)
	a := [3]string{"login", "deny", "ip_denied"}
	b := [3]string{"login", "deny", "ip_defied"} // same lengths, same last bytes
	if recentSlot(a) != recentSlot(b) {
		t.Fatal("the test needs two keys of one slot")
	}
	sa, sb := l.get(a), l.get(b)
	if sa == sb || *sa != fmt.Sprint(a[:]) || *sb != fmt.Sprint(b[:]) {
		t.Fatalf("got %q and %q", *sa, *sb)
	}
	for range 3 {
		if l.get(a) != sa || l.get(b) != sb || l.get(a) != sa {
			t.Fatal("a series changed")
		}
	}
	if len(c.made) != 2 {
		t.Fatalf("%d series made, want 2", len(c.made))
	}
	if n := testing.AllocsPerRun(100, func() { l.get(a) }); n != 0 {
		t.Errorf("a known series allocates %v times", n)
	}
}

// TestLabelledForgetClearsSlots: once forgotten (its vector deleted it),
// a series is never handed out again, though a slot held it; a new one is
// made.
func TestLabelledForgetClearsSlots(t *testing.T) {
	var c counting
	var l labelled[*string]
	l.init(1, c.with)
	q := [3]string{"smartid"}
	old := l.get(q)
	l.get(q) // from its slot now
	l.forget(q)
	if s := l.get(q); s == old {
		t.Fatal("a forgotten series was handed out again")
	}
	if len(c.made) != 2 {
		t.Fatalf("%d series made, want 2", len(c.made))
	}
}

// TestLabelledForgetRacesGet: gets and forgets of one series at once never
// leave the forgotten series in a slot for good: once the forgets stop,
// the next get returns the series the map holds.
func TestLabelledForgetRacesGet(t *testing.T) {
	var mu sync.Mutex
	var c counting
	var l labelled[*string]
	l.init(1, func(v ...string) *string { mu.Lock(); defer mu.Unlock(); return c.with(v...) })
	q := [3]string{"q"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				l.get(q)
			}
		}()
	}
	for range 500 {
		l.forget(q)
	}
	wg.Wait()
	got := l.get(q)
	if cur := *l.m.Load(); cur[q] == nil || cur[q].m != got {
		t.Fatal("get returned a series the map no longer holds")
	}
}
