package counter

import (
	"testing"
	"time"
)

// TestRingInlineThenBuffer: the first inlineTimes times stay in the entry;
// the next moves them to a buffer, in order; dropping them all and pushing
// again keeps using the buffer; a released entry that kept its buffer
// reuses it, and one that let it go starts inline again.
func TestRingInlineThenBuffer(t *testing.T) {
	var r ring
	for i := range int64(inlineTimes) {
		r.push(10+i, 100)
	}
	if r.buf != nil || r.len() != inlineTimes || r.oldest() != 10 || r.newest() != 10+inlineTimes-1 {
		t.Fatalf("inline ring %+v", r)
	}
	if a := testing.AllocsPerRun(100, func() {
		var r ring
		r.push(1, 100)
		r.push(2, 100)
	}); a != 0 {
		t.Fatalf("inline pushes allocate %v times", a)
	}
	r.push(20, 100)
	if cap(r.buf) != 4 || r.len() != inlineTimes+1 || r.oldest() != 10 || r.newest() != 20 {
		t.Fatalf("grown ring %+v", r)
	}
	r.dropThrough(10)
	if r.len() != inlineTimes || r.oldest() != 11 {
		t.Fatalf("after dropping one %+v", r)
	}
	// Wrap around the buffer and grow it again, keeping the order.
	for i := range int64(5) {
		r.push(30+i, 100)
	}
	want := []int64{11, 20, 30, 31, 32, 33, 34}
	if r.len() != len(want) || cap(r.buf) != 8 {
		t.Fatalf("ring %+v, want %v", r, want)
	}
	for _, w := range want {
		if r.oldest() != w {
			t.Fatalf("oldest %d, want %d", r.oldest(), w)
		}
		r.dropThrough(w)
	}
	if r.len() != 0 || r.buf == nil || r.bytes() != 64 {
		t.Fatalf("emptied ring %+v", r)
	}

	// The same through a store: a key that needed a buffer keeps it while
	// spare, and the next key of one hit reuses it without allocating.
	m := newStore(t, 100, newFakeClock())
	k := Key{Rule: "login/rate_ip", Subject: "ip=a"}
	for range 3 {
		m.Take(bg, k, 10, time.Minute)
	}
	if n, _ := m.Clear(bg, Filter{}); n != 1 {
		t.Fatalf("cleared %d", n)
	}
	s := m.shards[0].shard
	if len(s.slab.spare) != 1 || cap(s.at(s.slab.spare[0]).times.buf) != 4 {
		t.Fatalf("the released entry did not keep its buffer: spare %v", s.slab.spare)
	}
	k2 := Key{Rule: "login/rate_ip", Subject: "ip=b"}
	if a := testing.AllocsPerRun(1, func() { m.Take(bg, k2, 10, time.Minute) }); a != 0 {
		t.Fatalf("reusing a spare entry allocated %v times", a)
	}
	if st := m.Stats(); st.Bytes != int64(entryOverhead+len(k2.Subject)+32) {
		t.Fatalf("bytes %d: the reused buffer should be counted", st.Bytes)
	}

	// A buffer past maxSpareSlots is let go: the next key starts inline.
	big := Key{Rule: "login/rate_ip", Subject: "ip=c"}
	for range maxSpareSlots + 1 {
		m.Take(bg, big, 100, time.Minute)
	}
	m.Clear(bg, Filter{})
	if len(s.slab.spare) != 1 || s.slab.free < 0 || s.at(s.slab.free).times.buf != nil {
		t.Fatalf("a large buffer was kept: spare %v, free %d", s.slab.spare, s.slab.free)
	}
}
