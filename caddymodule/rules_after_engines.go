package caddymodule

import (
	"github.com/login-guard/login_guard/rules"
)

// applyRulesAfterEngines evaluates the `when` rules that read engine
// signals, with the engines' combined score and reasons. It runs after the
// engines, before or after the upstream as the route evaluates them. A
// route that asks no engine still runs them, with has_score false.
func (x *exchange) applyRulesAfterEngines() {
	rt := x.h.rulesRT
	if rt == nil || rt.afterEngines == nil || x.verdict.Action == rules.Deny {
		return
	}
	sig := rules.Signals{Score: x.verdict.Score, HasScore: x.verdict.HasScore, EngineReasons: x.verdict.Reasons}
	v, t := rt.afterEngines.Evaluate(x.ctx, &x.attempt, &sig)
	x.verdict.Merge(v)
	if t != nil {
		_ = rt.afterEngines.Observe(x.ctx, t, rules.OutcomeUnknown)
	}
}
