package rules

import (
	"context"
	"sync"

	"github.com/login-guard/login_guard/rules/counter"
)

// Evaluate runs the before-upstream phase for one attempt: IP lists,
// counting rules (which record the attempt), device and when rules. It
// returns the verdict and a Ticket the caller must hand to Observe once
// the attempt is over (nil when there is nothing to settle).
//
// When the verdict is not Allow the attempt does not go upstream now, so
// the lockout slots it took are given back at once; the Ticket still
// lets Observe record a failure or success if the attempt goes upstream
// later (after a challenge). If the caller stops an allowed attempt for
// another reason (an engine's deny), it calls Observe with OutcomeUnknown;
// a ticket never observed has its slots expire after the policy's Hold.
//
// Verdict.RetryAfter is set only when a rate, spray or spread rule denied:
// answer 429 with Retry-After then, the generic deny otherwise. Lockouts
// never set it. ctx bounds a shared store's round trips.
func (p *Policy) Evaluate(ctx context.Context, a *Attempt, sig *Signals) (Verdict, *Ticket) {
	var v Verdict
	t := p.evaluate(ctx, a, sig, &v, nil)
	return v, t
}

// EvaluateInto is Evaluate for a caller that keeps the verdict and the
// ticket in its own per-request state, so neither is allocated: the
// verdict is merged into v (as Verdict.Merge would: worst action, reasons
// and monitored reasons kept once, longest RetryAfter), and the slots go
// to t. It returns the ticket holding slots, which must go to Observe: t
// itself, or a new one when t is nil (a caller may pass nil when
// TakesSlots is false); nil when the attempt took none. The slots are
// given back at once when v's action, merged, is not Allow.
//
// t must not hold slots still unsettled: EvaluateInto overwrites it. A
// ticket may be filled again once Observe has returned for it (or once
// EvaluateInto returned nil); until then it belongs to its attempt.
func (p *Policy) EvaluateInto(ctx context.Context, a *Attempt, sig *Signals, v *Verdict, t *Ticket) *Ticket {
	if t != nil {
		t.reset(p)
	}
	return p.evaluate(ctx, a, sig, v, t)
}

// TakesSlots reports whether the policy has a lockout rule, the only kind
// whose evaluation can hold slots (and so needs a Ticket).
func (p *Policy) TakesSlots() bool { return p.takesSlots }

// evaluate adds this policy's contributions to v. Lockout slots go to t,
// or to a new ticket when t is nil; it returns the ticket holding slots,
// nil when none were taken.
func (p *Policy) evaluate(ctx context.Context, a *Attempt, sig *Signals, v *Verdict, t *Ticket) *Ticket {
	if (len(p.allowIP) > 0 || len(p.denyIP) > 0) && p.ipRules(a, v) {
		return nil
	}
	subj := subjects{a: a, sig: sig, norm: &p.norm, pair: p.countsPair}
	var countBuf [8]int64
	counts := countBuf[:0]
	if len(p.counting) > len(countBuf) {
		counts = make([]int64, 0, len(p.counting))
	}
	held := false
	if len(p.counting) > 0 {
		// Every counting rule's operation goes to the store in one batch:
		// one round trip for a shared store.
		var opsBuf [inlineOps]counter.Op
		ops := opsBuf[:0]
		if len(p.counting) > len(opsBuf) {
			ops = make([]counter.Op, 0, len(p.counting))
		}
		ops = ops[:len(p.counting)]
		for i := range p.counting {
			p.prepare(&p.counting[i], &subj, &ops[i])
		}
		p.run(ctx, ops)
		for i := range p.counting {
			c := &p.counting[i]
			n, hold := p.judge(c, &ops[i], v)
			counts = append(counts, n)
			if hold.key.Rule != "" {
				if t == nil {
					t = newTicket(p)
				}
				t.holds = append(t.holds, hold)
				held = true
			}
		}
	}
	if len(p.conditions) > 0 {
		p.conditionsPhase(a, sig, &subj, counts, v)
	}
	if !held {
		return nil
	}
	if v.Action != Allow {
		t.release(ctx)
	}
	return t
}

// ipRules applies the IP rules and reports whether one ended the
// evaluation: a deny_ip match, or an allow_ip match when the policy
// short-circuits on it.
func (p *Policy) ipRules(a *Attempt, v *Verdict) bool {
	ip := a.IP
	if !ip.IsValid() {
		return false
	}
	for _, r := range p.allowIP {
		if r.list.Contains(ip) {
			if r.monitor {
				addMonitored(v, r.reason)
				continue
			}
			v.Add(Allow, r.reason)
			if p.allowSC {
				return true
			}
		}
	}
	for _, r := range p.denyIP {
		if r.list.Contains(ip) {
			if r.monitor {
				addMonitored(v, r.reason)
				continue
			}
			v.Add(Deny, r.reason)
			return true
		}
	}
	return false
}

// prepare fills op with one counting rule's store operation, or leaves its
// Kind zero (skipped) when the attempt lacks the rule's subject or value.
func (p *Policy) prepare(c *countingRule, subj *subjects, op *counter.Op) {
	s := subj.get(c.key)
	if s == "" {
		return
	}
	op.Key = counter.Key{Rule: c.id, Subject: s}
	switch c.kind {
	case countRate:
		op.Kind, op.Limit, op.Window = counter.OpTake, c.limit, c.window
	case countDistinct:
		val := subj.get(c.value)
		if val == "" {
			return
		}
		op.Kind, op.Limit, op.Window, op.Value = counter.OpTakeDistinct, c.limit, c.window, val
	case countLockout:
		op.Kind, op.Lockout = counter.OpReserve, c.lockout
	}
}

// judge reads one counting rule's answer into the verdict and returns its
// count for expressions and, for a lockout, what the ticket must settle.
func (p *Policy) judge(c *countingRule, op *counter.Op, v *Verdict) (int64, hold) {
	if op.Kind == 0 {
		return 0, hold{}
	}
	res, err := op.Result, op.Err
	var h hold
	if c.kind == countLockout && err == nil && !res.Full {
		h = hold{rule: c, key: op.Key, token: res.Token}
	}
	cm := c.rule.common()
	switch {
	case err != nil:
		p.reportError(c.rule, err)
		p.contribute(v, cm, p.onStoreFailure, ReasonStoreUnavailable)
	case res.Full:
		p.contribute(v, cm, p.onFull, ReasonStoreFull)
	case !res.Allowed:
		p.contribute(v, cm, cm.action, cm.reason)
		if c.kind != countLockout && cm.action == Deny && !cm.monitor && res.RetryAfter > v.RetryAfter {
			v.RetryAfter = res.RetryAfter
		}
	}
	return int64(res.Count), h
}

// conditionsPhase runs device and when rules.
func (p *Policy) conditionsPhase(a *Attempt, sig *Signals, subj *subjects, counts []int64, v *Verdict) {
	var act *activation
	if p.anyWhen {
		act = activationPool.Get().(*activation)
		act.a, act.sig, act.subj = a, sig, *subj
		act.counterNames = p.counterNames
		act.counts = append(act.counts, counts...)
		defer func() {
			act.reset()
			activationPool.Put(act)
		}()
	}
	for _, r := range p.conditions {
		switch r := r.(type) {
		case *DeviceRule:
			if r.fires(a) {
				p.contribute(v, &r.ruleCommon, r.action, r.reason)
			}
		case *WhenRule:
			ok, err := r.eval(act)
			if err != nil {
				p.reportError(r, err)
				p.contribute(v, &r.ruleCommon, r.action, r.reason)
				p.contribute(v, &r.ruleCommon, r.action, ReasonRuleError)
				continue
			}
			if ok {
				p.contribute(v, &r.ruleCommon, r.action, r.reason)
			}
		}
	}
}

// contribute adds a firing rule's action and reason, or only its reason to
// Monitored when the rule is in monitor mode.
func (p *Policy) contribute(v *Verdict, c *ruleCommon, a Action, reason string) {
	if c.monitor {
		addMonitored(v, reason)
		return
	}
	v.Add(a, reason)
}

func (p *Policy) reportError(r Rule, err error) {
	if p.onError != nil {
		p.onError(r.String(), err)
	}
}

func addMonitored(v *Verdict, reason string) {
	if !contains(v.Monitored, reason) {
		v.Monitored = append(v.Monitored, reason)
	}
}

// inlineOps is how many store operations an evaluation or a settlement
// keeps on its stack; a route with more counting rules allocates them.
const inlineOps = 6

// run sends a batch to the store. The in-process store is called
// directly, so the batch can stay on the caller's stack; any other store
// gets a pooled copy, since a call through the interface lets the slice
// escape.
func (p *Policy) run(ctx context.Context, ops []counter.Op) {
	if p.memory != nil {
		p.memory.Batch(ctx, ops)
		return
	}
	ob := getOps(len(ops))
	copy(*ob, ops)
	counter.Do(ctx, p.store, *ob)
	copy(ops, *ob)
	putOps(ob)
}

// opsPool recycles the batches handed to stores other than the in-process
// one.
var opsPool = sync.Pool{New: func() any { return new([]counter.Op) }}

// getOps returns n zeroed operations.
func getOps(n int) *[]counter.Op {
	ob := opsPool.Get().(*[]counter.Op)
	if cap(*ob) < n {
		*ob = make([]counter.Op, n)
	}
	*ob = (*ob)[:n]
	return ob
}

// putOps zeroes the operations (they hold subjects and keys) and pools them.
func putOps(ob *[]counter.Op) {
	clear(*ob)
	opsPool.Put(ob)
}
