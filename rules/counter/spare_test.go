package counter

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReusedEntriesStartBlank: entries dropped from the map are reused for
// new keys, and a new key never inherits anything of the old one (its
// failures, lock, reservations, hits or distinct values), whatever kind
// either is. The bytes the store reports return to zero once every key
// is gone.
func TestReusedEntriesStartBlank(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 1000, c)
	for round := 0; round < 3; round++ {
		// Keys dropped while they hold state (an operator's Clear, as an
		// eviction would): a locked lockout key, one with failures and a
		// reservation in flight, rate and distinct keys at their limit.
		for i := 0; i < maxSpare; i++ {
			locked := Key{Rule: "login/lockout_user", Subject: "user=locked" + strconv.Itoa(i)}
			for j := 0; j < lk.Limit; j++ {
				settle(t, m, locked, 0, Failure)
			}
			busy := Key{Rule: "login/lockout_user", Subject: "user=busy" + strconv.Itoa(i)}
			settle(t, m, busy, 0, Failure)
			reserve(t, m, busy)
			rate := Key{Rule: "login/rate_ip", Subject: "ip=old" + strconv.Itoa(i)}
			m.Take(bg, rate, 2, time.Minute)
			m.Take(bg, rate, 2, time.Minute)
			dist := Key{Rule: "login/spray_ip", Subject: "ip=old" + strconv.Itoa(i)}
			m.TakeDistinct(bg, dist, "a", 2, time.Minute)
			m.TakeDistinct(bg, dist, "b", 2, time.Minute)
		}
		if n, err := m.Clear(bg, Filter{}); err != nil || n != 4*maxSpare {
			t.Fatalf("round %d: cleared %d, %v", round, n, err)
		}
		if st := m.Stats(); st.Keys != 0 || st.Bytes != 0 {
			t.Fatalf("round %d: after clearing, %+v", round, st)
		}
		for i := 0; i < 2*maxSpare; i++ {
			lock := Key{Rule: "login/lockout_user", Subject: "user=new" + strconv.Itoa(i)}
			if r := reserve(t, m, lock); !r.Allowed || r.Locked || r.Count != 1 {
				t.Fatalf("round %d: new lockout key %+v", round, r)
			}
			rate := Key{Rule: "login/rate_ip", Subject: "ip=new" + strconv.Itoa(i)}
			if r, _ := m.Take(bg, rate, 2, time.Minute); !r.Allowed || r.Count != 1 {
				t.Fatalf("round %d: new rate key %+v", round, r)
			}
			dist := Key{Rule: "login/spray_ip", Subject: "ip=new" + strconv.Itoa(i)}
			if r, _ := m.TakeDistinct(bg, dist, "v", 2, time.Minute); !r.Allowed || r.Count != 1 {
				t.Fatalf("round %d: new distinct key %+v", round, r)
			}
		}
		all, _ := m.List(bg, Filter{}, 0)
		if len(all) != 6*maxSpare {
			t.Fatalf("round %d: %d entries listed, want %d", round, len(all), 6*maxSpare)
		}
		for _, e := range all {
			if e.Count != 1 || !e.LockedUntil.IsZero() || !strings.Contains(e.Key.Subject, "=new") {
				t.Fatalf("round %d: entry %+v", round, e)
			}
		}
		c.Advance(2 * time.Hour)
		if _, err := m.Clear(bg, Filter{}); err != nil {
			t.Fatal(err)
		}
	}
}
