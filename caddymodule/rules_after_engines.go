package caddymodule

import (
	"regexp"

	"github.com/login-guard/login_guard/rules"
)

// engineSignal finds the CEL variables that only exist once engines have
// answered.
var engineSignal = regexp.MustCompile(`\b(score|has_score|engine_reasons)\b`)

// counterRef finds counter references, which need the route's counting
// rules and so stay in the first phase.
var counterRef = regexp.MustCompile(`\bcounters\b`)

// readsEngineSignals reports whether a rule must wait for the engines: a
// `when` over score, has_score or engine_reasons (and no counters).
func readsEngineSignals(r rules.Rule) bool {
	w, ok := r.(*rules.WhenRule)
	if !ok {
		return false
	}
	src := w.Expression()
	return engineSignal.MatchString(src) && !counterRef.MatchString(src)
}

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
