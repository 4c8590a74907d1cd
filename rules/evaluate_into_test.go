package rules

import (
	"testing"
	"time"
)

// TestEvaluateIntoMerges: EvaluateInto adds to the caller's verdict what
// Evaluate followed by Merge would, and a ticket it filled settles the
// attempt as Evaluate's would.
func TestEvaluateIntoMerges(t *testing.T) {
	p, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t,
		[]string{"rate", "ip", "1/1m", "deny"},
		[]string{"lockout", "user", "2/10m", "for", "15m"},
		[]string{"device", "missing", "challenge", "monitor"})})
	a := attempt("jlopez", "192.0.2.1")
	a.DevicePresent = false

	var tk Ticket
	v := Verdict{Reasons: []string{"earlier"}}
	if p.EvaluateInto(bg, a, nil, &v, &tk) != &tk {
		t.Fatal("a lockout slot was taken but no ticket reported")
	}
	if v.Action != Allow || !sameStrings(v.Reasons, []string{"earlier"}) || !sameStrings(v.Monitored, []string{"device_missing"}) {
		t.Fatalf("first attempt: %v %q monitored %q", v.Action, v.Reasons, v.Monitored)
	}
	if err := p.Observe(bg, &tk, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
	// The same ticket, filled again, for a second attempt over the rate
	// limit: refused with Retry-After, its slot given back at once.
	v = Verdict{Reasons: []string{"earlier"}, Monitored: []string{"device_missing"}}
	if p.EvaluateInto(bg, a, nil, &v, &tk) != &tk {
		t.Fatal("second attempt: no ticket reported")
	}
	if v.Action != Deny || !sameStrings(v.Reasons, []string{"earlier", "rate_ip"}) || v.RetryAfter != time.Minute ||
		!sameStrings(v.Monitored, []string{"device_missing"}) {
		t.Fatalf("second attempt: %v %q retry %v monitored %q", v.Action, v.Reasons, v.RetryAfter, v.Monitored)
	}
	if err := p.Observe(bg, &tk, OutcomeUnknown); err != nil {
		t.Fatal(err)
	}
	// One failure recorded, the refused attempt's slot released: the
	// lockout (2 failures) is not reached by one more failure's slot.
	q, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"lockout", "user", "2/10m", "for", "15m"})})
	for i := range 2 {
		var w Verdict
		if q.EvaluateInto(bg, a, nil, &w, &tk) != &tk || w.Action != Allow {
			t.Fatalf("attempt %d: %v %q", i, w.Action, w.Reasons)
		}
		if err := q.Observe(bg, &tk, OutcomeFailure); err != nil {
			t.Fatal(err)
		}
	}
	// Locked: refused, and the ticket (holding no slot) can still record
	// the outcome of an attempt let through later.
	var w Verdict
	if q.EvaluateInto(bg, a, nil, &w, &tk) != &tk || w.Action != Deny || !sameStrings(w.Reasons, []string{"lockout_user"}) || tk.holds[0].token != 0 {
		t.Fatalf("after two failures: holds %v, %v %q", tk.holds, w.Action, w.Reasons)
	}
	if err := q.Observe(bg, &tk, OutcomeUnknown); err != nil {
		t.Fatal(err)
	}
	if len(tk.holds) != 0 {
		t.Fatalf("a settled ticket still names its keys: %v", tk.holds)
	}
}

// TestEvaluateIntoReleasesOnMergedVerdict: an attempt that an earlier
// check already challenged does not go upstream now, so its lockout slot
// is given back at once even though the rules themselves allowed it.
func TestEvaluateIntoReleasesOnMergedVerdict(t *testing.T) {
	p, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"lockout", "user", "1/10m", "for", "15m"})})
	a := attempt("jlopez", "192.0.2.1")
	var tk Ticket
	v := Verdict{Action: Challenge, Reasons: []string{"assertion_invalid"}}
	if p.EvaluateInto(bg, a, nil, &v, &tk) != &tk || v.Action != Challenge {
		t.Fatalf("%v %q", v.Action, v.Reasons)
	}
	// The slot is free again before any Observe: a second attempt passes.
	var tk2 Ticket
	var w Verdict
	if p.EvaluateInto(bg, a, nil, &w, &tk2) != &tk2 || w.Action != Allow {
		t.Fatalf("slot still held: %v %q", w.Action, w.Reasons)
	}
	_ = p.Observe(bg, &tk2, OutcomeUnknown)
	// The challenged attempt's ticket can still record its outcome later.
	if err := p.Observe(bg, &tk, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
	var x Verdict
	if p.EvaluateInto(bg, a, nil, &x, &tk2); x.Action != Deny {
		t.Fatalf("the challenged attempt's failure was not recorded: %v %q", x.Action, x.Reasons)
	}
}

// TestEvaluateIntoAllocations: the production path (a caller keeping the
// verdict and ticket) allocates only the attempt's counter subject, one
// string for the address, the user and the pair alike, and nothing for a
// refusal's reasons when the verdict has room.
func TestEvaluateIntoAllocations(t *testing.T) {
	p, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t,
		[]string{"rate", "ip", "10000/1m", "deny"},
		[]string{"lockout", "ip_user", "5/15m", "for", "30m", "challenge"},
		[]string{"device", "missing", "challenge"})})
	a := attempt("jlopez", "192.0.2.1")
	var tk Ticket
	var reasons [4]string
	allocs := testing.AllocsPerRun(200, func() {
		v := Verdict{Reasons: reasons[:0]}
		if p.EvaluateInto(bg, a, nil, &v, &tk) != nil {
			_ = p.Observe(bg, &tk, OutcomeSuccess)
		}
		if v.Action != Allow {
			t.Fatalf("%v %q", v.Action, v.Reasons)
		}
	})
	if allocs > 1 {
		t.Errorf("a passed login allocates %v times, want at most 1 (its counter subject)", allocs)
	}

	q, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"rate", "ip", "1/1h", "deny"})})
	var w Verdict
	q.EvaluateInto(bg, a, nil, &w, nil)
	allocs = testing.AllocsPerRun(200, func() {
		v := Verdict{Reasons: reasons[:0]}
		q.EvaluateInto(bg, a, nil, &v, nil)
		if v.Action != Deny || v.RetryAfter == 0 {
			t.Fatalf("%v %q", v.Action, v.Reasons)
		}
	})
	if allocs > 1 {
		t.Errorf("a rate-limited attempt allocates %v times, want at most 1 (its counter subject)", allocs)
	}
}

// TestEvaluateIntoNilTicket: a policy without a lockout takes no slots and
// needs no ticket; one with a lockout, given none, makes its own.
func TestEvaluateIntoNilTicket(t *testing.T) {
	rate, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"rate", "ip", "5/1m"}, []string{"device", "missing", "deny"})})
	lock, _, _ := newTestPolicy(t, 1000, PolicyConfig{Rules: mustRules(t, []string{"rate", "ip", "5/1m"}, []string{"lockout", "user", "2/10m", "for", "15m"})})
	if rate.TakesSlots() || !lock.TakesSlots() {
		t.Fatalf("TakesSlots: rate %v, lockout %v", rate.TakesSlots(), lock.TakesSlots())
	}
	a := attempt("jlopez", "192.0.2.1")
	var v Verdict
	if tk := rate.EvaluateInto(bg, a, nil, &v, nil); tk != nil || v.Action != Allow {
		t.Fatalf("rate only: %v %v", tk, v.Action)
	}
	tk := lock.EvaluateInto(bg, a, nil, &v, nil)
	if tk == nil || len(tk.holds) != 1 || tk.holds[0].token == 0 {
		t.Fatalf("lockout without a ticket given: %+v", tk)
	}
	if err := lock.Observe(bg, tk, OutcomeFailure); err != nil {
		t.Fatal(err)
	}
}
