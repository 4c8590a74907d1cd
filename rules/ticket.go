package rules

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"

	"github.com/login-guard/login_guard/rules/counter"
)

// ErrNotRecorded is returned (wrapped) by Observe when a failure could not
// be recorded because the counter store was full.
var ErrNotRecorded = errors.New("failure not recorded: counter store full")

// Ticket links an attempt's Evaluate to its Observe: the lockout keys it
// was counted under and the slots it holds. Settle it exactly once; a
// second Observe does nothing, and a ticket never observed has its slots
// expire after the policy's Hold. A caller may keep a Ticket and have
// EvaluateInto fill it again for a later attempt once Observe has
// returned (a second Observe after that would settle the new attempt).
type Ticket struct {
	p        *Policy
	holds    []hold
	released atomic.Bool // slots given back (tokens spent)
	done     atomic.Bool
	// inline is where holds starts: a route has one or two lockouts, so
	// the ticket is one allocation.
	inline [2]hold
}

func newTicket(p *Policy) *Ticket {
	t := &Ticket{p: p}
	t.holds = t.inline[:0]
	return t
}

// forget drops the keys of a settled ticket (they name users), so a
// ticket kept for reuse holds none of them.
func (t *Ticket) forget() {
	clear(t.holds)
	t.holds = t.holds[:0]
}

// reset blanks t for an evaluation by p, dropping the keys it held. The
// caller owns t alone (EvaluateInto's contract), so plain writes do: no
// atomic store (a full barrier each) is needed to clear the flags.
func (t *Ticket) reset(p *Policy) {
	*t = Ticket{p: p}
	t.holds = t.inline[:0]
}

type hold struct {
	rule  *countingRule
	key   counter.Key
	token int64
}

// release gives the slots back without recording an outcome, in one
// batch.
func (t *Ticket) release(ctx context.Context) {
	if !t.released.CompareAndSwap(false, true) {
		return
	}
	var opsBuf [inlineOps]counter.Op
	ops := opsBuf[:0]
	if len(t.holds) > len(opsBuf) {
		ops = make([]counter.Op, 0, len(t.holds))
	}
	ops = ops[:len(t.holds)]
	for i := range t.holds {
		h := &t.holds[i]
		if h.token != 0 {
			ops[i] = counter.Op{Kind: counter.OpSettle, Key: h.key, Lockout: h.rule.lockout, Token: h.token, Settlement: counter.Release}
			h.token = 0
		}
	}
	if t.p.deferSettlement(t, ops, false) {
		return
	}
	t.p.run(ctx, ops)
	for i := range ops {
		if ops[i].Err != nil {
			t.p.reportError(t.holds[i].rule.rule, ops[i].Err)
		}
	}
}

// Observe runs the after-upstream phase: outcome is the upstream's answer
// to the attempt t came from. A failure counts against every lockout key
// of the attempt (and may lock it); a success resets its user and ip_user
// keys; OutcomeUnknown (no upstream call, an error, a route that is not a
// login) only gives the slots back. t may be nil. Every key is settled in
// one batch (one round trip for a shared store). A store that settles
// after the request (counter.Deferrer) is handed the batch and Observe
// returns nil at once; what fails is reported through OnError when it
// ran: under its rule, and the whole as the rule "observe", the error
// Observe would have returned.
func (p *Policy) Observe(ctx context.Context, t *Ticket, outcome Outcome) error {
	if t == nil || !t.done.CompareAndSwap(false, true) {
		return nil
	}
	defer t.forget()
	if outcome == OutcomeUnknown {
		t.release(ctx)
		return nil
	}
	spent := t.released.Swap(true)
	var opsBuf [inlineOps]counter.Op
	ops := opsBuf[:0]
	if len(t.holds) > len(opsBuf) {
		ops = make([]counter.Op, 0, len(t.holds))
	}
	ops = ops[:len(t.holds)]
	for i := range t.holds {
		h := &t.holds[i]
		token := h.token
		if spent {
			token = 0
		}
		st := counter.Release
		switch {
		case outcome == OutcomeFailure:
			st = counter.Failure
		case outcome == OutcomeSuccess && h.rule.key != KeyIP:
			st = counter.Success
		}
		ops[i] = counter.Op{Kind: counter.OpSettle, Key: h.key, Lockout: h.rule.lockout, Token: token, Settlement: st}
	}
	if p.deferSettlement(t, ops, true) {
		return nil
	}
	p.run(ctx, ops)
	return settlementErrors(ops, func(i int) Rule { return t.holds[i].rule.rule }, p)
}

// settlementErrors reports each failed settlement under its rule and
// returns what Observe returns: every error, and ErrNotRecorded for a
// failure the store had no room to record.
func settlementErrors(ops []counter.Op, rule func(int) Rule, p *Policy) error {
	var errs []error
	for i := range ops {
		if err := ops[i].Err; err != nil {
			p.reportError(rule(i), err)
			errs = append(errs, err)
		} else if ops[i].Kind == counter.OpSettle && !ops[i].Recorded {
			errs = append(errs, ErrNotRecorded)
		}
	}
	return errors.Join(errs...)
}

// deferSettlement hands a ticket's settlement to a store that sends it
// after the request (counter.Deferrer), and reports false when the store
// does not defer or takes no more. The ticket is reused once Observe
// returns, so what reporting the outcome needs is copied: the ops and
// their rules, in one allocation for the usual one or two lockouts.
// observe: the errors are also reported as the observe step's
// (OnError's rule "observe"), as Observe's caller reports the error it
// returns.
func (p *Policy) deferSettlement(t *Ticket, ops []counter.Op, observe bool) bool {
	if p.deferrer == nil {
		return false
	}
	if !slices.ContainsFunc(ops, func(op counter.Op) bool { return op.Kind != 0 }) {
		return true // nothing held: nothing to send
	}
	d := &deferredSettlement{p: p, observe: observe}
	if n := len(ops); n <= len(d.inlineOps) {
		d.ops, d.rules = d.inlineOps[:n], d.inlineRules[:n]
	} else {
		d.ops, d.rules = make([]counter.Op, n), make([]Rule, n)
	}
	copy(d.ops, ops)
	for i := range t.holds {
		d.rules[i] = t.holds[i].rule.rule
	}
	return p.deferrer.Defer(d.ops, d)
}

// deferredSettlement is a settlement a store sends after the request.
type deferredSettlement struct {
	p           *Policy
	ops         []counter.Op
	rules       []Rule
	observe     bool
	inlineOps   [2]counter.Op
	inlineRules [2]Rule
}

// Settled implements counter.Settled.
func (d *deferredSettlement) Settled(ops []counter.Op) {
	err := settlementErrors(ops, func(i int) Rule { return d.rules[i] }, d.p)
	if d.observe && err != nil && d.p.onError != nil {
		d.p.onError("observe", err)
	}
}
