package counter

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTakeDistinct(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "spray", Subject: "ip=198.51.100.9/32"}
	steps := []struct {
		advance time.Duration
		value   string
		allowed bool
		count   int
		retry   time.Duration
	}{
		{0, "alice", true, 1, 0},
		{time.Second, "bob", true, 2, 0},
		{time.Second, "alice", true, 2, 0},                 // seen before: not new
		{time.Second, "carol", false, 2, 58 * time.Second}, // t=3: third distinct refused; bob (t=1) leaves at 61
		{time.Second, "bob", true, 2, 0},                   // t=4: bob refreshed
		{57 * time.Second, "carol", false, 2, time.Second}, // t=61: alice (t=2) leaves at 62
		{2 * time.Second, "carol", true, 2, 0},             // t=63: alice left
	}
	for i, s := range steps {
		c.Advance(s.advance)
		r, err := m.TakeDistinct(bg, k, s.value, 2, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed != s.allowed || r.Count != s.count || r.RetryAfter != s.retry {
			t.Fatalf("step %d (%s): got %+v, want allowed=%v count=%d retry=%v", i, s.value, r, s.allowed, s.count, s.retry)
		}
	}
}

func TestTakeDistinctExactUnderConcurrency(t *testing.T) {
	const n, workers = 25, 200
	m := newStore(t, 100, newFakeClock())
	k := Key{Rule: "spray", Subject: "ip=198.51.100.9/32"}
	var allowed atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			if r, _ := m.TakeDistinct(bg, k, fmt.Sprintf("user%d", w), n, time.Hour); r.Allowed {
				allowed.Add(1)
			}
		}(w)
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != n {
		t.Fatalf("allowed %d distinct values, want exactly %d", got, n)
	}
}
