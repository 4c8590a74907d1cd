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
