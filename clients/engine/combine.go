package engine

import (
	"net/http"

	"github.com/login-guard/login_guard/rules"
)

// Combine folds a Run's results into one verdict. onFailure is the route's
// on_engine_failure policy (allow, challenge or deny): every failed engine
// contributes that action with reason engine_unavailable, except one that
// refused the request's content (RefusedRequest), which contributes at
// least a challenge with reason engine_refused_request. Engines that
// decided are merged: the worst action wins, every reason and correlation
// id is kept (correlations in the order of results), and the highest score
// is kept.
func Combine(results []Result, onFailure rules.Action) rules.Verdict {
	var v rules.Verdict
	for _, r := range results {
		switch {
		case r.Failure == nil:
			v.Merge(r.Verdict)
		case r.Failure.RefusedRequest():
			v.Add(max(onFailure, rules.Challenge), rules.ReasonEngineRefusedRequest)
		default:
			v.Add(onFailure, rules.ReasonEngineUnavailable)
		}
	}
	return v
}

// RefusedRequest reports whether the engine answered that it would not
// judge this request for what it holds: 400, 413 or 422. The request's
// user name, user agent, cookies and device payload are the client's
// choice, so such an answer is one the client can provoke at will (a user
// agent longer than the engine takes, say): it is no outage, and a route's
// on_engine_failure allow must not let the request through unjudged.
// Other 4xx (401 and 403 for a key the engine refuses, 404, 429, ...) say
// nothing about the request's content and stay failures.
func (f *Failure) RefusedRequest() bool {
	if f.Kind != KindStatus4xx {
		return false
	}
	switch f.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}
