package rules

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func lockoutPolicy(t *testing.T, line ...string) (*Policy, *fakeClock) {
	t.Helper()
	p, c, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, append([]string{"lockout"}, line...))})
	return p, c
}

// login evaluates an attempt and, when it passes, settles it with outcome.
func login(t *testing.T, p *Policy, user, ip string, outcome Outcome) Verdict {
	t.Helper()
	v, tk := p.Evaluate(bg, attempt(user, ip), nil)
	if v.Action != Allow {
		outcome = OutcomeUnknown // never reached the upstream
	}
	if err := p.Observe(bg, tk, outcome); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLockoutUser(t *testing.T) {
	p, c := lockoutPolicy(t, "user", "3/10m", "for", "15m")
	for i := 0; i < 3; i++ {
		if v := login(t, p, "JLopez", "192.0.2.1", OutcomeFailure); v.Action != Allow {
			t.Fatalf("failure %d refused: %v", i, v.Reasons)
		}
	}
	v := login(t, p, "jlopez ", "198.51.100.1", OutcomeSuccess)
	if v.Action != Deny || !sameStrings(v.Reasons, []string{"lockout_user"}) || v.RetryAfter != 0 {
		t.Fatalf("4th attempt: %v %q retry %v; want a plain deny with no retry-after", v.Action, v.Reasons, v.RetryAfter)
	}
	c.Advance(15 * time.Minute)
	if v := login(t, p, "jlopez", "192.0.2.1", OutcomeSuccess); v.Action != Allow {
		t.Fatalf("after the lock: %v", v.Reasons)
	}
}

func TestLockoutSuccessResetsUserButNotIP(t *testing.T) {
	p, _ := lockoutPolicy(t, "user", "3/10m", "for", "15m")
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	login(t, p, "u", "192.0.2.1", OutcomeSuccess)
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	if v := login(t, p, "u", "192.0.2.1", OutcomeFailure); v.Action != Allow {
		t.Fatal("failures before the success still counted")
	}

	p, _ = lockoutPolicy(t, "ip", "3/10m", "for", "15m")
	login(t, p, "victim1", "192.0.2.1", OutcomeFailure)
	login(t, p, "victim2", "192.0.2.1", OutcomeFailure)
	login(t, p, "attacker", "192.0.2.1", OutcomeSuccess) // the attacker's own account
	login(t, p, "victim3", "192.0.2.1", OutcomeFailure)
	if v := login(t, p, "victim4", "192.0.2.1", OutcomeFailure); v.Action != Deny {
		t.Fatal("a success laundered the address's failures")
	}
}

func TestLockoutIPUserDoesNotLockTheVictimEverywhere(t *testing.T) {
	p, _ := lockoutPolicy(t, "ip_user", "2/10m", "for", "1h")
	login(t, p, "victim", "203.0.113.66", OutcomeFailure)
	login(t, p, "victim", "203.0.113.66", OutcomeFailure)
	if v := login(t, p, "victim", "203.0.113.66", OutcomeSuccess); v.Action != Deny {
		t.Fatal("attacker's address not locked")
	}
	if v := login(t, p, "victim", "192.0.2.10", OutcomeSuccess); v.Action != Allow {
		t.Fatal("the victim is locked out from their own address")
	}
}

func TestLockoutChallengeThenSuccessUnlocks(t *testing.T) {
	p, _ := lockoutPolicy(t, "user", "2/10m", "for", "1h", "challenge")
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	login(t, p, "u", "192.0.2.1", OutcomeFailure)
	v, tk := p.Evaluate(bg, attempt("u", "192.0.2.1"), nil)
	if v.Action != Challenge || tk == nil {
		t.Fatalf("locked user not challenged: %v %v", v.Action, tk)
	}
	// The user passed the second factor; the held login went upstream and
	// succeeded.
	if err := p.Observe(bg, tk, OutcomeSuccess); err != nil {
		t.Fatal(err)
	}
	if v := login(t, p, "u", "192.0.2.1", OutcomeSuccess); v.Action != Allow {
		t.Fatalf("still challenged after a success: %v", v.Reasons)
	}
}

func TestLockoutDeniedAttemptGivesItsSlotBack(t *testing.T) {
	p, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t,
		[]string{"lockout", "user", "1/10m", "for", "1h"},
		[]string{"device", "missing", "deny"})})
	a := attempt("u", "192.0.2.1")
	a.DevicePresent = false
	for i := 0; i < 3; i++ {
		// Denied by the device rule: must not keep the single slot, even
		// if the caller never calls Observe.
		if v, _ := p.Evaluate(bg, a, nil); v.Action != Deny || v.HasReason("lockout_user") {
			t.Fatalf("attempt %d: %v %q", i, v.Action, v.Reasons)
		}
	}
	if v := login(t, p, "u", "192.0.2.1", OutcomeSuccess); v.Action != Allow {
		t.Fatalf("slot leaked: %v", v.Reasons)
	}
}

// TestLockoutExactUnderConcurrency: many parallel guesses at one account
// all pass the check before any upstream answer; only Limit may reach
// the upstream, and the account locks after their failures.
func TestLockoutExactUnderConcurrency(t *testing.T) {
	const limit, workers = 5, 200
	p, _ := lockoutPolicy(t, "user", "5/10m", "for", "1h")
	var passed atomic.Int64
	tickets := make(chan *Ticket, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, tk := p.Evaluate(bg, attempt("victim", "192.0.2.1"), nil)
			if v.Action == Allow {
				passed.Add(1)
				tickets <- tk // upstream pending
			} else if err := p.Observe(bg, tk, OutcomeUnknown); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(tickets)
	if got := passed.Load(); got != limit {
		t.Fatalf("%d guesses passed, want exactly %d", got, limit)
	}
	for tk := range tickets {
		if err := p.Observe(bg, tk, OutcomeFailure); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := p.Evaluate(bg, attempt("victim", "192.0.2.1"), nil); v.Action != Deny {
		t.Fatal("not locked after the failures")
	}
}

// TestRateExactUnderConcurrency: M concurrent attempts, N allowed.
func TestRateExactUnderConcurrency(t *testing.T) {
	const limit, workers, each = 50, 64, 10
	p, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"rate", "ip_user", "50/1h"})})
	var allowed atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				// Same key spelled differently by each goroutine.
				user := []string{"JLopez", "jlopez ", "JLOPEZ", "ｊｌｏｐｅｚ"}[w%4]
				if v, _ := p.Evaluate(bg, attempt(user, "2001:db8::"+string(rune('1'+w%9))), nil); v.Action == Allow {
					allowed.Add(1)
				}
			}
		}(w)
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("allowed %d of %d, want exactly %d", got, workers*each, limit)
	}
}

// TestNoGoroutines: the package starts none, so nothing can leak.
func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	p, _, _ := newTestPolicy(t, 100, PolicyConfig{Rules: mustRules(t,
		[]string{"rate", "ip", "5/1m"}, []string{"lockout", "user", "3/1m", "for", "1m"},
		[]string{"when", `user == "x"`, "deny"})})
	for i := 0; i < 10; i++ {
		_, tk := p.Evaluate(bg, attempt("u", "192.0.2.1"), nil)
		p.Observe(bg, tk, OutcomeFailure)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines %d -> %d", before, after)
	}
}
