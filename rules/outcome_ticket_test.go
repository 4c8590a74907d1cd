package rules

import (
	"testing"
)

// TestOutcomeTicket: an attempt judged earlier, whose slots its
// challenge gave back, is counted once through an outcome ticket: the
// ticket itself reads and writes nothing, a failure is recorded against
// every lockout key, a success resets the user keys, no outcome counts
// nothing, and an address an IP rule settles gets no ticket.
func TestOutcomeTicket(t *testing.T) {
	p, _, m := newTestPolicy(t, 100, PolicyConfig{AllowShortCircuit: true, Rules: mustRules(t,
		[]string{"allow_ip", "10.0.0.0/8"},
		[]string{"deny_ip", "203.0.113.0/24"},
		[]string{"rate", "ip", "100/1h", "deny"},
		[]string{"lockout", "user", "2/1h", "for", "1h", "deny"},
		[]string{"lockout", "ip", "2/1h", "for", "1h", "deny"},
	)})
	bob := attempt("bob", "198.51.100.7")
	// The first pass: evaluated (slots reserved), then challenged
	// elsewhere and given back without an outcome.
	v, tk := p.Evaluate(bg, bob, nil)
	if v.Action != Allow || tk == nil {
		t.Fatalf("first pass: %+v", v)
	}
	if err := p.Observe(bg, tk, OutcomeUnknown); err != nil {
		t.Fatal(err)
	}
	observe := func(a *Attempt, o Outcome) {
		t.Helper()
		keys := m.Stats().Keys
		ot := p.OutcomeTicket(a, new(Ticket))
		if ot == nil {
			t.Fatal("no ticket")
		}
		if m.Stats().Keys != keys {
			t.Fatal("making the ticket touched the store")
		}
		if err := p.Observe(bg, ot, o); err != nil {
			t.Fatal(err)
		}
		// Observed once: a second Observe counts nothing.
		if err := p.Observe(bg, ot, OutcomeFailure); err != nil {
			t.Fatal(err)
		}
	}
	recheck := func(a *Attempt) Verdict {
		t.Helper()
		var v Verdict
		p.Recheck(bg, a, &v)
		return v
	}
	observe(bob, OutcomeUnknown)
	observe(bob, OutcomeFailure)
	if v := recheck(bob); v.Action != Allow {
		t.Fatalf("one failure of two locks: %+v", v)
	}
	// The success resets bob's failure, not the address's.
	observe(bob, OutcomeSuccess)
	observe(attempt("bob", "192.0.2.1"), OutcomeFailure)
	if v := recheck(bob); v.Action != Allow {
		t.Fatalf("bob's failure was not reset by the success: %+v", v)
	}
	observe(attempt("carol", "198.51.100.7"), OutcomeFailure)
	if v := recheck(bob); v.Action != Deny || !sameStrings(v.Reasons, []string{"lockout_ip"}) {
		t.Fatalf("the address's second failure: %+v", v)
	}
	for _, ip := range []string{"10.1.2.3", "203.0.113.5"} {
		if p.OutcomeTicket(attempt("bob", ip), new(Ticket)) != nil {
			t.Fatalf("%s: an IP rule settles it, yet it got a ticket", ip)
		}
	}
	if p.OutcomeTicket(&Attempt{Route: "login", Event: "login"}, new(Ticket)) != nil {
		t.Fatal("an attempt without user or address got a ticket")
	}
}
