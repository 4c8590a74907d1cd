package rules

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// TestRecheckCountsNothing: a recheck reports the IP rules and the
// lockouts that hold now, and counts nothing: the rate limit and the
// lockout slots of the next evaluation are as if it never ran.
func TestRecheckCountsNothing(t *testing.T) {
	p, _, m := newTestPolicy(t, 100, PolicyConfig{AllowShortCircuit: true, Rules: mustRules(t,
		[]string{"allow_ip", "10.0.0.0/8"},
		[]string{"deny_ip", "203.0.113.0/24"},
		[]string{"rate", "ip", "1/1h", "deny"},
		[]string{"lockout", "user", "1/1h", "for", "1h", "deny"},
		[]string{"lockout", "ip", "1/1h", "for", "1h", "challenge"},
	)})
	recheck := func(a *Attempt) Verdict {
		t.Helper()
		var v Verdict
		p.Recheck(bg, a, &v)
		return v
	}
	bob := attempt("bob", "198.51.100.7")
	for range 3 {
		if v := recheck(bob); v.Action != Allow || len(v.Reasons) != 0 {
			t.Fatalf("nothing holds: %+v", v)
		}
	}
	if m.Stats().Keys != 0 {
		t.Fatalf("rechecks made %d keys", m.Stats().Keys)
	}
	// The one attempt the rate allows is still there, and the lockout
	// slots are free: bob's failure locks bob and the address.
	v, tk := p.Evaluate(bg, bob, nil)
	if v.Action != Allow {
		t.Fatalf("first evaluation after rechecks: %+v", v)
	}
	if err := p.Observe(bg, tk, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
	if v := recheck(bob); v.Action != Deny || !sameStrings(v.Reasons, []string{"lockout_user", "lockout_ip"}) {
		t.Fatalf("bob locked: %+v", v)
	}
	// Another user at the address meets only the address's lockout (a
	// challenge), and the exhausted rate limit is not run.
	if v := recheck(attempt("alice", "198.51.100.7")); v.Action != Challenge || !sameStrings(v.Reasons, []string{"lockout_ip"}) {
		t.Fatalf("alice at bob's address: %+v", v)
	}
	if v := recheck(attempt("alice", "203.0.113.5")); v.Action != Deny || !sameStrings(v.Reasons, []string{ReasonIPDenied}) {
		t.Fatalf("deny_ip: %+v", v)
	}
	if v := recheck(attempt("bob", "10.1.2.3")); v.Action != Allow || !sameStrings(v.Reasons, []string{ReasonIPAllowed}) {
		t.Fatalf("allow_ip settles even a locked user: %+v", v)
	}
}

// failingStore fails every peek, as a Redis that is down would.
type failingStore struct{ counter.Store }

var errDown = errors.New("store down")

func (failingStore) PeekLockout(context.Context, counter.Key, counter.Lockout) (counter.Result, error) {
	return counter.Result{}, errDown
}

// TestRecheckStoreFailure: a peek the store cannot answer contributes
// the policy's on_store_failure action, reported to OnError.
func TestRecheckStoreFailure(t *testing.T) {
	m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 10})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, c := range []struct {
		onFailure Action
		want      Action
	}{{Deny, Deny}, {Allow, Allow}} {
		p, err := NewPolicy(PolicyConfig{Scope: "login", Store: failingStore{m}, OnStoreFailure: &c.onFailure,
			Rules:   mustRules(t, []string{"lockout", "ip_user", "3/1h", "for", "1h"}),
			OnError: func(rule string, err error) { failed = append(failed, rule) }, Hold: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var v Verdict
		p.Recheck(bg, attempt("bob", "198.51.100.7"), &v)
		if v.Action != c.want || !sameStrings(v.Reasons, []string{ReasonStoreUnavailable}) {
			t.Fatalf("on_store_failure %v: %+v", c.onFailure, v)
		}
	}
	if len(failed) != 2 {
		t.Fatalf("OnError heard %v", failed)
	}
}
