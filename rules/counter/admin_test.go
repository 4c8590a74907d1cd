package counter

import (
	"strings"
	"testing"
	"time"
)

func TestListAndClear(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	victim := Key{Rule: "login/lockout_user", Subject: "user=jlopez"}
	for i := 0; i < lk.Limit; i++ {
		settle(t, m, victim, 0, Failure)
	}
	limited := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.7/32"}
	m.Take(bg, limited, 1, time.Minute)
	calm := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.8/32"}
	m.Take(bg, calm, 5, time.Minute)
	c.Advance(10 * time.Second)

	all, _ := m.List(bg, Filter{}, 0)
	if len(all) != 3 {
		t.Fatalf("listed %d entries, want 3", len(all))
	}
	lim, _ := m.List(bg, Filter{LimitedOnly: true}, 0)
	if len(lim) != 2 || lim[0].Key != victim || lim[1].Key != limited {
		t.Fatalf("limited entries %+v", lim)
	}
	if lim[0].Kind != "lockout" || lim[0].LockedUntil.IsZero() || lim[0].RetryAfter != lk.LockFor-10*time.Second {
		t.Fatalf("lockout entry %+v", lim[0])
	}
	if lim[1].Kind != "rate" || lim[1].Count != 1 || lim[1].Limit != 1 || lim[1].RetryAfter != 50*time.Second {
		t.Fatalf("rate entry %+v", lim[1])
	}
	if one, _ := m.List(bg, Filter{}, 1); len(one) != 1 {
		t.Fatalf("max ignored: %d entries", len(one))
	}
	byUser := Filter{Match: func(k Key) bool { return strings.HasSuffix(k.Subject, "user=jlopez") }}
	if n, _ := m.Clear(bg, byUser); n != 1 {
		t.Fatalf("cleared %d, want 1", n)
	}
	if r := reserve(t, m, victim); !r.Allowed {
		t.Fatalf("lockout survived Clear: %+v", r)
	}
	if n, _ := m.Clear(bg, Filter{Rule: "login/rate_ip", LimitedOnly: true}); n != 1 {
		t.Fatalf("cleared %d limited rate keys, want 1", n)
	}
	if r, _ := m.Take(bg, limited, 1, time.Minute); !r.Allowed {
		t.Fatal("rate limit survived Clear")
	}
	if st := m.Stats(); st.Keys != 3 {
		t.Fatalf("%d keys after clears, want 3 (victim, limited, calm)", st.Keys)
	}
}

func TestListSkipsExpired(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 10, c)
	m.Take(bg, Key{Rule: "r", Subject: "s"}, 1, time.Second)
	c.Advance(time.Second)
	if got, _ := m.List(bg, Filter{}, 0); len(got) != 0 {
		t.Fatalf("listed expired entries: %+v", got)
	}
}
