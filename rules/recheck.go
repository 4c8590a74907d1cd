package rules

import (
	"context"

	"github.com/login-guard/login_guard/rules/counter"
)

// Recheck judges once more an attempt that Evaluate already counted, as
// the rules and the counters stand now, without counting it again: the
// IP rules, and each lockout rule whose key is locked now (a peek at the
// store that records, reserves and creates nothing). Rate, spray and
// spread rules are not run (they would count the attempt twice), nor are
// device and when rules. A held login replayed after its step-up is
// rechecked so: the config may have gained a deny_ip meanwhile, or other
// failures may have locked its user or address.
//
// The contributions are merged into v as Evaluate's would be (a rule in
// monitor mode only reports; a store that fails contributes the policy's
// OnStoreFailure with store_unavailable). An allow_ip match ends the
// recheck like it ends an evaluation when the policy says
// AllowShortCircuit. ctx bounds a shared store's round trip.
func (p *Policy) Recheck(ctx context.Context, a *Attempt, v *Verdict) {
	if p.ipRules(a, v) {
		return
	}
	var opsBuf [inlineOps]counter.Op
	ops, lockouts := opsBuf[:0], 0
	if len(p.counting) > len(opsBuf) {
		ops = make([]counter.Op, 0, len(p.counting))
	}
	ops = ops[:len(p.counting)]
	subj := subjects{a: a, norm: &p.norm, pair: p.countsPair}
	for i := range p.counting {
		c := &p.counting[i]
		if c.kind != countLockout {
			continue
		}
		if s := subj.get(c.key); s != "" {
			ops[i] = counter.Op{Kind: counter.OpPeekLockout, Key: counter.Key{Rule: c.id, Subject: s}, Lockout: c.lockout}
			lockouts++
		}
	}
	if lockouts == 0 {
		return
	}
	p.run(ctx, ops)
	for i := range p.counting {
		op := &ops[i]
		if op.Kind == 0 {
			continue
		}
		c := p.counting[i].rule
		switch cm := c.common(); {
		case op.Err != nil:
			p.reportError(c, op.Err)
			p.contribute(v, cm, p.onStoreFailure, ReasonStoreUnavailable)
		case op.Result.Locked:
			p.contribute(v, cm, cm.action, cm.reason)
		}
	}
}

// OutcomeTicket fills t, as EvaluateInto would, with the lockout keys of
// an attempt that was judged and counted earlier and whose slots were
// given back without an outcome (a held login: its challenge settled
// its ticket with none), holding no slot. Observe then records the
// outcome once, as for any login (a failure counted against every
// lockout key, a success resetting the user and ip_user keys), and
// OutcomeUnknown settles nothing. Nothing is read or written here. It
// returns nil, leaving t to the caller, when the attempt has no lockout
// key, or when an IP rule would have ended its evaluation (the attempt
// was not counted then either).
//
// A held login replayed to the upstream after its step-up gets one, so
// the portal's answer to the replay counts once: the challenge took no
// failure, and the replay reserves nothing.
func (p *Policy) OutcomeTicket(a *Attempt, t *Ticket) *Ticket {
	if !p.takesSlots {
		return nil
	}
	if len(p.allowIP) > 0 || len(p.denyIP) > 0 {
		var v Verdict
		if p.ipRules(a, &v) {
			return nil
		}
	}
	t.reset(p)
	subj := subjects{a: a, norm: &p.norm, pair: p.countsPair}
	for i := range p.counting {
		c := &p.counting[i]
		if c.kind != countLockout {
			continue
		}
		if s := subj.get(c.key); s != "" {
			t.holds = append(t.holds, hold{rule: c, key: counter.Key{Rule: c.id, Subject: s}})
		}
	}
	if len(t.holds) == 0 {
		return nil
	}
	// No slot to give back: Observe sends only the outcome.
	t.released.Store(true)
	return t
}
