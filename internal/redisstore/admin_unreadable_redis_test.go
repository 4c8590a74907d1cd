//go:build redis

package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// TestListShowsUnreadableCounters: a counter whose subject was sealed
// under other key material (here another instance bound with another
// secret) does not fail the admin listing: the others are listed, it is
// listed as unreadable (its rule and counts, no subject), and a clear by
// subject leaves it alone without failing.
func TestListShowsUnreadableCounters(t *testing.T) {
	_, cfg := single(t)
	ctx := context.Background()
	mine := NewCounter(instance(t, cfg))
	other := opened(t, cfg)
	if err := other.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Bind(ctx, "fp-1", []byte("another secret, 32 bytes long..")); err != nil {
		t.Fatal(err)
	}
	theirs := NewCounter(other)
	readable := counter.Key{Rule: "login/rate ip 2/1m", Subject: "ip=192.0.2.1/32"}
	for range 2 {
		if _, err := mine.Take(ctx, readable, 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for _, subject := range []string{"ip=192.0.2.2/32", "ip=192.0.2.3/32"} {
		if _, err := theirs.Take(ctx, counter.Key{Rule: readable.Rule, Subject: subject}, 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	es, err := mine.List(ctx, counter.Filter{}, 0)
	if err != nil {
		t.Fatalf("list with unreadable counters: %v", err)
	}
	if len(es) != 3 {
		t.Fatalf("listed %+v, want the readable counter and two unreadable ones", es)
	}
	for _, e := range es[:2] {
		if e.Unreadable == "" || e.Key.Subject != "" || e.Key.Rule != readable.Rule || e.Count != 1 || e.Kind != "rate" {
			t.Fatalf("an unreadable counter: %+v", e)
		}
	}
	if es[0].Unreadable == es[1].Unreadable {
		t.Fatal("two unreadable counters share a name")
	}
	if e := es[2]; e.Key != readable || e.Unreadable != "" || !e.Limited || e.Count != 2 {
		t.Fatalf("the readable counter: %+v", e)
	}
	if es, err := mine.List(ctx, counter.Filter{LimitedOnly: true}, 0); err != nil || len(es) != 1 || es[0].Key != readable {
		t.Fatalf("limited only: %+v %v", es, err)
	}

	bySubject := counter.Filter{Match: func(k counter.Key) bool { return k.Subject == readable.Subject }}
	if n, err := mine.Clear(ctx, bySubject); err != nil || n != 1 {
		t.Fatalf("clear by subject: %d %v, want 1", n, err)
	}
	if es, err := mine.List(ctx, counter.Filter{}, 0); err != nil || len(es) != 2 || es[0].Unreadable == "" {
		t.Fatalf("after the clear: %+v %v", es, err)
	}
}
