package rules

import (
	"context"

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
	ip := a.IP
	if ip.IsValid() {
		for _, r := range p.allowIP {
			if r.list.Contains(ip) {
				if r.monitor {
					addMonitored(&v, r.reason)
					continue
				}
				v.Add(Allow, r.reason)
				if p.allowSC {
					return v, nil
				}
			}
		}
		for _, r := range p.denyIP {
			if r.list.Contains(ip) {
				if r.monitor {
					addMonitored(&v, r.reason)
					continue
				}
				v.Add(Deny, r.reason)
				return v, nil
			}
		}
	}
	subj := subjects{a: a, sig: sig, norm: &p.norm}
	var countBuf [8]int64
	counts := countBuf[:0]
	if len(p.counting) > len(countBuf) {
		counts = make([]int64, 0, len(p.counting))
	}
	var t *Ticket
	for i := range p.counting {
		c := &p.counting[i]
		n, hold := p.count(ctx, c, &subj, &v)
		counts = append(counts, n)
		if hold.key.Rule != "" {
			if t == nil {
				t = newTicket(p)
			}
			t.holds = append(t.holds, hold)
		}
	}
	if len(p.conditions) > 0 {
		p.conditionsPhase(a, sig, &subj, counts, &v)
	}
	if t != nil && v.Action != Allow {
		t.release(ctx)
	}
	return v, t
}

// count runs one counting rule and returns its count for expressions and,
// for a lockout, what the ticket must settle.
func (p *Policy) count(ctx context.Context, c *countingRule, subj *subjects, v *Verdict) (int64, hold) {
	s := subj.get(c.key)
	if s == "" {
		return 0, hold{}
	}
	key := counter.Key{Rule: c.id, Subject: s}
	var (
		res counter.Result
		err error
		h   hold
	)
	switch c.kind {
	case countRate:
		res, err = p.store.Take(ctx, key, c.limit, c.window)
	case countDistinct:
		val := subj.get(c.value)
		if val == "" {
			return 0, hold{}
		}
		res, err = p.store.TakeDistinct(ctx, key, val, c.limit, c.window)
	case countLockout:
		res, err = p.store.Reserve(ctx, key, c.lockout)
		if err == nil && !res.Full {
			h = hold{rule: c, key: key, token: res.Token}
		}
	}
	cm := c.rule.common()
	switch {
	case err != nil:
		p.reportError(c.rule, err)
		p.contribute(v, cm, p.onFull, ReasonStoreUnavailable)
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
