package caddymodule

import (
	"net/http"
	"strconv"

	"github.com/login-guard/login_guard/upstreamsig"
)

// setUpstreamHeaders tells the portal what the guard decided, signed (see
// package upstreamsig for the format) so that a request reaching the portal
// some other way cannot claim a verdict, and a verdict cannot be replayed
// onto another method, path or user. A verdict that is not final (the
// engines judge the login on the portal's answer) is sent as "pending",
// never as "allow".
func (x *exchange) setUpstreamHeaders(r *http.Request) {
	secret := x.h.upstreamSecret
	if len(secret) == 0 {
		return
	}
	v := &x.verdict
	sv := upstreamsig.Verdict{
		Route:   x.h.Name,
		Method:  r.Method,
		Path:    r.URL.EscapedPath(),
		User:    x.attempt.User,
		Action:  v.Action.String(),
		Reasons: v.ReasonList(),
		Time:    x.start,
	}
	if v.HasScore {
		sv.Score = strconv.FormatFloat(v.Score, 'f', -1, 64)
	}
	if x.verdictPending() {
		sv.Action, sv.Score, sv.Reasons = upstreamsig.ActionPending, "", ""
	}
	upstreamsig.SetHeaders(r.Header, secret, sv)
}

// verdictPending reports whether the verdict is judged again on the
// upstream's answer: a login on an `evaluate after_upstream` route with
// engines, unless it finishes a passed step-up.
func (x *exchange) verdictPending() bool {
	h := x.h
	return h.Event == EventLogin && h.Evaluate == EvaluateAfter && len(h.EngineOptions.engines) > 0 &&
		!x.steppedUp()
}
