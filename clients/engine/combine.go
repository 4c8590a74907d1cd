package engine

import "github.com/login-guard/login_guard/rules"

// Combine folds a Run's results into one verdict. onFailure is the route's
// on_engine_failure policy (allow, challenge or deny): every failed engine
// contributes that action with reason engine_unavailable. Engines that
// decided are merged: the worst action wins, every reason and correlation
// id is kept (correlations in the order of results), and the highest score
// is kept.
func Combine(results []Result, onFailure rules.Action) rules.Verdict {
	var v rules.Verdict
	for _, r := range results {
		if r.Failure != nil {
			v.Add(onFailure, rules.ReasonEngineUnavailable)
			continue
		}
		v.Merge(r.Verdict)
	}
	return v
}
