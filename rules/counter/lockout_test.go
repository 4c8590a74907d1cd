package counter

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var lk = Lockout{Limit: 3, Window: 10 * time.Minute, LockFor: 15 * time.Minute, Hold: time.Minute}

func reserve(t *testing.T, m *Memory, k Key) Result {
	t.Helper()
	r, err := m.Reserve(bg, k, lk)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func settle(t *testing.T, m *Memory, k Key, token int64, s Settlement) {
	t.Helper()
	if ok, err := m.Settle(bg, k, lk, token, s); err != nil || !ok {
		t.Fatalf("settle: ok=%v err=%v", ok, err)
	}
}

func TestLockoutLocksAfterLimitFailures(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	for i := 0; i < 3; i++ {
		r := reserve(t, m, k)
		if !r.Allowed || r.Token == 0 {
			t.Fatalf("attempt %d refused: %+v", i, r)
		}
		c.Advance(time.Second)
		settle(t, m, k, r.Token, Failure)
	}
	r := reserve(t, m, k)
	if r.Allowed || !r.Locked || r.RetryAfter != 15*time.Minute {
		t.Fatalf("4th attempt: %+v, want locked for 15m", r)
	}
	c.Advance(15*time.Minute - time.Nanosecond)
	if r := reserve(t, m, k); r.Allowed {
		t.Fatal("allowed before the lock ended")
	}
	c.Advance(time.Nanosecond)
	if r := reserve(t, m, k); !r.Allowed || r.Count != 1 {
		t.Fatalf("after the lock: %+v, want a fresh allowance", r)
	}
}

func TestLockoutFailuresSlideOutOfWindow(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	for i := 0; i < 2; i++ {
		r := reserve(t, m, k)
		settle(t, m, k, r.Token, Failure)
		c.Advance(6 * time.Minute)
	}
	// t=12m: the failure at 0 left the window; one remains (t=6m).
	r := reserve(t, m, k)
	settle(t, m, k, r.Token, Failure)
	if r := reserve(t, m, k); !r.Allowed || r.Locked {
		t.Fatalf("locked with 2 failures in the window: %+v", r)
	}
}

func TestLockoutSuccessResets(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	for i := 0; i < 2; i++ {
		r := reserve(t, m, k)
		settle(t, m, k, r.Token, Failure)
	}
	r := reserve(t, m, k)
	settle(t, m, k, r.Token, Success)
	if st := m.Stats(); st.Keys != 0 {
		t.Fatalf("a reset key with nothing in flight should be dropped, %d keys held", st.Keys)
	}
	for i := 0; i < 2; i++ {
		r := reserve(t, m, k)
		settle(t, m, k, r.Token, Failure)
	}
	if r := reserve(t, m, k); !r.Allowed {
		t.Fatalf("old failures survived a success: %+v", r)
	}
}

func TestLockoutSuccessLiftsLock(t *testing.T) {
	m := newStore(t, 100, newFakeClock())
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	for i := 0; i < 3; i++ {
		settle(t, m, k, 0, Failure)
	}
	if r := reserve(t, m, k); !r.Locked {
		t.Fatal("not locked")
	}
	// A challenged attempt passed a second factor and logged in.
	settle(t, m, k, 0, Success)
	if r := reserve(t, m, k); !r.Allowed {
		t.Fatalf("still locked after a success: %+v", r)
	}
}

// TestLockoutReservationsAreExact: many concurrent guesses at one account
// pass the check before any upstream answer; only Limit may pass.
func TestLockoutReservationsAreExact(t *testing.T) {
	const workers = 100
	m := newStore(t, 100, newFakeClock())
	k := Key{Rule: "lockout", Subject: "user=victim"}
	var passed atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	tokens := make(chan int64, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, _ := m.Reserve(bg, k, lk)
			if r.Allowed {
				passed.Add(1)
				tokens <- r.Token
			}
		}()
	}
	close(start)
	wg.Wait()
	close(tokens)
	if got := passed.Load(); got != int64(lk.Limit) {
		t.Fatalf("%d concurrent attempts passed, want exactly %d", got, lk.Limit)
	}
	for tok := range tokens {
		settle(t, m, k, tok, Failure)
	}
	if r := reserve(t, m, k); !r.Locked {
		t.Fatalf("not locked after %d failures: %+v", lk.Limit, r)
	}
}

func TestLockoutReleaseAndHoldExpiry(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	var toks []int64
	for i := 0; i < 3; i++ {
		toks = append(toks, reserve(t, m, k).Token)
	}
	if r := reserve(t, m, k); r.Allowed || r.Locked || r.RetryAfter != time.Minute {
		t.Fatalf("4th in flight: %+v, want refused (not locked) until the first hold expires", r)
	}
	settle(t, m, k, toks[0], Release)
	if r := reserve(t, m, k); !r.Allowed {
		t.Fatalf("released slot not reusable: %+v", r)
	}
	// Nobody settles the rest: they expire after Hold.
	c.Advance(time.Minute)
	if r := reserve(t, m, k); !r.Allowed || r.Count != 1 {
		t.Fatalf("abandoned reservations still count: %+v", r)
	}
}
