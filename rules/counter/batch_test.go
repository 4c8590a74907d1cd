package counter

import (
	"testing"
	"time"
)

// TestMemoryBatch: a batch answers each operation as the single call
// would, skips operations without a kind and refuses unknown ones.
func TestMemoryBatch(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	rate := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.7/32"}
	spray := Key{Rule: "login/spray_ip", Subject: "ip=203.0.113.7/32"}
	lock := Key{Rule: "login/lockout_ip_user", Subject: "ip=203.0.113.7/32 user=jlopez"}
	batch := func() []Op {
		ops := []Op{
			{Kind: OpTake, Key: rate, Limit: 2, Window: time.Minute},
			{Kind: OpTakeDistinct, Key: spray, Value: "jlopez", Limit: 1, Window: time.Minute},
			{},
			{Kind: OpReserve, Key: lock, Lockout: lk},
			{Kind: OpKind(99), Key: rate},
		}
		m.Batch(bg, ops)
		return ops
	}
	ops := batch()
	if r := ops[0].Result; ops[0].Err != nil || !r.Allowed || r.Count != 1 {
		t.Fatalf("take: %+v, %v", r, ops[0].Err)
	}
	if r := ops[1].Result; ops[1].Err != nil || !r.Allowed || r.Count != 1 {
		t.Fatalf("take distinct: %+v, %v", r, ops[1].Err)
	}
	if ops[2].Err != nil || ops[2].Result != (Result{}) {
		t.Fatalf("op without kind: %+v", ops[2])
	}
	if r := ops[3].Result; ops[3].Err != nil || !r.Allowed || r.Token == 0 || r.Count != 1 {
		t.Fatalf("reserve: %+v, %v", r, ops[3].Err)
	}
	if ops[4].Err == nil {
		t.Fatal("unknown op: no error")
	}
	settle := []Op{{Kind: OpSettle, Key: lock, Lockout: lk, Token: ops[3].Result.Token, Settlement: Failure}}
	m.Batch(bg, settle)
	if settle[0].Err != nil || !settle[0].Recorded {
		t.Fatalf("settle: %+v", settle[0])
	}
	c.Advance(time.Second)
	ops = batch()
	if r := ops[0].Result; !r.Allowed || r.Count != 2 {
		t.Fatalf("second take: %+v", r)
	}
	if r := ops[3].Result; !r.Allowed || r.Count != 2 {
		t.Fatalf("second reserve (one failure, one slot): %+v", r)
	}
	ops = batch()
	if r := ops[0].Result; r.Allowed || r.RetryAfter != time.Minute-time.Second {
		t.Fatalf("third take: %+v", r)
	}
	if r := ops[3].Result; !r.Allowed || r.Count != 3 {
		t.Fatalf("third reserve (one failure, two slots): %+v", r)
	}
	ops = batch()
	if r := ops[3].Result; r.Allowed || r.Locked || r.Count != 3 {
		t.Fatalf("fourth reserve (at the limit): %+v", r)
	}
	// The same answers through single calls on the same store.
	if r, _ := m.Take(bg, rate, 2, time.Minute); r.Allowed {
		t.Fatalf("single take after the batches: %+v", r)
	}
	// A bad limit fails that operation alone.
	bad := []Op{{Kind: OpTake, Key: rate, Limit: 0, Window: time.Minute}, {Kind: OpTake, Key: Key{Rule: "r", Subject: "s"}, Limit: 1, Window: time.Minute}}
	m.Batch(bg, bad)
	if bad[0].Err == nil || bad[1].Err != nil || !bad[1].Result.Allowed {
		t.Fatalf("bad limit: %+v", bad)
	}
}

// TestBatchSettleClock: a batch that only gives reservations back or
// records successes reads no clock (it runs at its key's newest time),
// while a failure is recorded at the time the batch runs; the counts stay
// exact either way.
func TestBatchSettleClock(t *testing.T) {
	c := newFakeClock()
	reads := 0
	m, err := NewMemory(MemoryConfig{MaxKeys: 100, Clock: func() time.Time { reads++; return c.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Rule: "login/lockout_ip_user", Subject: "ip=203.0.113.7/32 user=jlopez"}
	reserve := func() int64 {
		ops := []Op{{Kind: OpReserve, Key: k, Lockout: lk}}
		m.Batch(bg, ops)
		if ops[0].Err != nil || !ops[0].Result.Allowed {
			t.Fatalf("reserve: %+v %v", ops[0].Result, ops[0].Err)
		}
		return ops[0].Result.Token
	}
	settle := func(token int64, s Settlement) int {
		before := reads
		ops := []Op{{Kind: OpSettle, Key: k, Lockout: lk, Token: token, Settlement: s}}
		m.Batch(bg, ops)
		if ops[0].Err != nil || !ops[0].Recorded {
			t.Fatalf("settle: %v %v", ops[0].Recorded, ops[0].Err)
		}
		return reads - before
	}
	reads = 0
	tok := reserve()
	if reads != 1 {
		t.Fatalf("reserve read the clock %d times, want 1", reads)
	}
	c.Advance(time.Second)
	if n := settle(tok, Success); n != 0 {
		t.Fatalf("a success read the clock %d times, want 0", n)
	}
	if n := settle(reserve(), Release); n != 0 {
		t.Fatalf("a release read the clock %d times, want 0", n)
	}
	// A failure is recorded when the batch runs: with the window of lk,
	// it leaves the window that long after the batch, not after the
	// reservation.
	tok = reserve()
	c.Advance(30 * time.Second)
	if n := settle(tok, Failure); n != 1 {
		t.Fatalf("a failure read the clock %d times, want 1", n)
	}
	c.Advance(lk.Window - time.Second)
	if r, _ := m.Reserve(bg, k, lk); r.Count != 2 {
		t.Fatalf("count %d just before the failure leaves the window, want 2 (it and this reservation)", r.Count)
	}
	// A release with no token (spent) reads no clock either, and prunes
	// nothing it should not: the failure and the reservation still count.
	if n := settle(0, Release); n != 0 {
		t.Fatalf("a tokenless release read the clock %d times, want 0", n)
	}
	if r, _ := m.Reserve(bg, k, lk); r.Count != 3 {
		t.Fatalf("count %d after a tokenless release, want 3", r.Count)
	}
	// A bogus token (no reservation of this store) moves no time forward:
	// it drops neither the failure nor the reservations held, so the key
	// stays at its limit (3).
	if n := settle(1<<62, Release); n != 0 {
		t.Fatalf("a release read the clock %d times, want 0", n)
	}
	if r, _ := m.Reserve(bg, k, lk); r.Allowed || r.Count != 3 {
		t.Fatalf("after a bogus token: %+v, want refused at 3 (the failure, two reservations)", r)
	}
	c.Advance(time.Second)
	if r, _ := m.Reserve(bg, k, lk); !r.Allowed || r.Count != 3 {
		t.Fatalf("once the failure left its window: %+v, want allowed at 3 (three reservations)", r)
	}
}
