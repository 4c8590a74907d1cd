//go:build redis

package redisstore

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/rules/counter"
)

// giveBack: the Smile ID paid-job limit on two instances sharing Redis.
// A submission refunded (Smile ID provably created no job) gives back
// exactly its own hits, per user and per IP, whichever instance counted
// them; one not refunded stays counted; the window is Take's (an
// instance still on Take sees the same count).
func giveBack(t *testing.T, cfg Config) {
	ctx := context.Background()
	a, b := NewCounter(instance(t, cfg)), NewCounter(instance(t, cfg))
	rate := smileid.Rate{N: 2, Window: time.Hour}
	la := &smileid.CounterLimiter{Store: a, User: rate, IP: smileid.Rate{N: 3, Window: time.Hour}}
	lb := &smileid.CounterLimiter{Store: b, User: rate, IP: smileid.Rate{N: 3, Window: time.Hour}}
	ip := netip.MustParseAddr("203.0.113.9")
	// Many failed submissions, each refunded, on either instance.
	for i := range 10 {
		l := []*smileid.CounterLimiter{la, lb}[i%2]
		refund, err := l.AdmitSubmit(ctx, "alice", ip)
		if err != nil {
			t.Fatalf("submission %d refused although every earlier one was given back: %v", i, err)
		}
		refund(ctx)
	}
	// Two kept: the user's limit is reached, on both instances.
	for _, l := range []*smileid.CounterLimiter{la, lb} {
		if _, err := l.AdmitSubmit(ctx, "alice", ip); err != nil {
			t.Fatal(err)
		}
	}
	var le *smileid.LimitError
	if _, err := lb.AdmitSubmit(ctx, "alice", ip); !errors.As(err, &le) || le.Scope != "user" {
		t.Fatalf("third kept submission: %v, want the user limit", err)
	}
	// Take (an instance not yet upgraded) counts the same window.
	if r, err := a.Take(ctx, counter.Key{Rule: "smileid/submit/user", Subject: "user=alice"}, 2, time.Hour); err != nil || r.Allowed || r.Count != 2 {
		t.Fatalf("Take on the same key: %+v %v", r, err)
	}
	// Alice's refused third submission never reached the IP rule: the IP
	// holds 2 of 3. Another user's refunded submission leaves it there, a
	// kept one fills it.
	refund, err := la.AdmitSubmit(ctx, "bob", ip)
	if err != nil {
		t.Fatal(err)
	}
	refund(ctx)
	if _, err := lb.AdmitSubmit(ctx, "bob", ip); err != nil {
		t.Fatalf("bob's kept submission: %v", err)
	}
	if _, err := la.AdmitSubmit(ctx, "carol", ip); !errors.As(err, &le) || le.Scope != "ip" {
		t.Fatalf("over the IP limit: %v", err)
	}
	// Carol, refused by the IP rule, got her user hit back.
	if r, err := a.Take(ctx, counter.Key{Rule: "smileid/submit/user", Subject: "user=carol"}, 1, time.Hour); err != nil || !r.Allowed {
		t.Fatalf("carol's user hit was not given back after the IP refused: %+v %v", r, err)
	}
	// A give-back of a hit that is not there (twice, or after Clear) is
	// harmless.
	if err := a.GiveBack(ctx, counter.Key{Rule: "smileid/submit/user", Subject: "user=alice"}, "1:1"); err != nil {
		t.Fatal(err)
	}
	if r, _ := a.Take(ctx, counter.Key{Rule: "smileid/submit/user", Subject: "user=alice"}, 2, time.Hour); r.Allowed {
		t.Fatal("a stray give-back freed a kept hit")
	}
}

func TestSmileIDGiveBackSingle(t *testing.T) {
	_, cfg := single(t)
	giveBack(t, cfg)
}

func TestSmileIDGiveBackCluster(t *testing.T) {
	_, cfg := cluster(t)
	giveBack(t, cfg)
}
