package counter

import (
	"testing"
	"time"
)

// TestPeekLockoutReadsOnlyTheLock: a peek reports a lock while it holds
// and records nothing: no key is made for a subject not held, a peek
// takes no slot and counts no failure, and reservations in flight or
// failures under the limit are not a lock.
func TestPeekLockoutReadsOnlyTheLock(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "lockout", Subject: "user=jlopez"}
	peek := func() Result {
		t.Helper()
		r, err := m.PeekLockout(bg, k, lk)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := peek(); !r.Allowed || r.Locked {
		t.Fatalf("unknown key: %+v", r)
	}
	if m.Stats().Keys != 0 {
		t.Fatal("a peek made a key")
	}
	// Two failures and a reservation in flight: at the limit (3), so a
	// new attempt is refused, but nothing is locked.
	for range 2 {
		settle(t, m, k, reserve(t, m, k).Token, Failure)
	}
	inFlight := reserve(t, m, k)
	if r := reserve(t, m, k); r.Allowed {
		t.Fatalf("a 4th attempt at the limit was let in: %+v", r)
	}
	for range 5 {
		if r := peek(); !r.Allowed || r.Locked {
			t.Fatalf("not locked yet: %+v", r)
		}
	}
	// The peeks took no slot and counted nothing: the reservation in
	// flight failing locks the key (its third failure), no sooner.
	settle(t, m, k, inFlight.Token, Failure)
	c.Advance(time.Minute)
	r := peek()
	if r.Allowed || !r.Locked || r.RetryAfter != 14*time.Minute {
		t.Fatalf("locked key: %+v, want locked for 14m more", r)
	}
	c.Advance(14 * time.Minute)
	if r := peek(); !r.Allowed || r.Locked {
		t.Fatalf("after the lock: %+v", r)
	}
	// A key of another kind is no lockout.
	rk := Key{Rule: "rate", Subject: "user=jlopez"}
	if _, err := m.Take(bg, rk, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if r, err := m.PeekLockout(bg, rk, lk); err != nil || !r.Allowed {
		t.Fatalf("rate key: %+v %v", r, err)
	}
	if _, err := m.PeekLockout(bg, k, Lockout{}); err == nil {
		t.Fatal("a lockout without limits was accepted")
	}
}

// TestPeekLockoutInBatch: the batch runs a peek like the single call.
func TestPeekLockoutInBatch(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	locked := Key{Rule: "lockout", Subject: "ip=198.51.100.7/32"}
	for range 3 {
		settle(t, m, locked, reserve(t, m, locked).Token, Failure)
	}
	ops := []Op{
		{Kind: OpPeekLockout, Key: locked, Lockout: lk},
		{Kind: OpPeekLockout, Key: Key{Rule: "lockout", Subject: "ip=192.0.2.1/32"}, Lockout: lk},
	}
	for _, s := range []Store{m, singleCalls{m}} {
		for i := range ops {
			ops[i].Result, ops[i].Err = Result{}, nil
		}
		Do(bg, s, ops)
		if !ops[0].Result.Locked || ops[0].Err != nil || !ops[1].Result.Allowed || ops[1].Err != nil {
			t.Fatalf("%T: %+v", s, ops)
		}
	}
}

// singleCalls hides Memory's Batch, so Do calls the Store's methods.
type singleCalls struct{ Store }
