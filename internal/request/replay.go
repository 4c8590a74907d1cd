package request

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// ReasonReplayDenied marks, in the audit line beside the reasons of the
// rule that refused it, a held login that was not replayed: its user
// passed the step-up, but the route now refuses its address (a deny_ip
// a reload added) or a lockout now holds for its user or address.
const ReasonReplayDenied = "step_up_replay_denied"

// RecheckHeld judges a held login once more before it is replayed, with
// what can be checked without counting it again (its rate, spray and
// spread counts were taken when it was judged; CountHeldOutcome has its
// outcome counted): the route's allow_ip and deny_ip and the rules' IP lists
// against the address of the request the replay is judged under (the
// continuation's), and whether a lockout now holds for its user or
// address (a peek at the counters: nothing recorded, no slot taken). An
// allow_ip address passes, as on any request. It returns false, with
// the refusing rule's reasons and ReasonReplayDenied added to the
// verdict (a deny), when the login must not reach the upstream; a lockout
// whose action is challenge does not refuse it, since its user has just
// passed a step-up.
func (x *Exchange) RecheckHeld() bool {
	rt, ip := x.Route, x.Attempt.IP
	if ip.IsValid() && rt.AllowIP.Len() > 0 && rt.AllowIP.Contains(ip) {
		return true
	}
	var v rules.Verdict
	if ip.IsValid() && rt.DenyIP.Len() > 0 && rt.DenyIP.Contains(ip) {
		v.Add(rules.Deny, rules.ReasonIPDenied)
	} else if rt.Rules != nil {
		rt.Rules.policy.Recheck(x.Ctx, &x.Attempt, &v)
	}
	if v.Action != rules.Deny {
		return true
	}
	x.Verdict.Merge(v)
	x.Verdict.Add(rules.Deny, ReasonReplayDenied)
	return false
}

// CountHeldOutcome readies a held login, about to be replayed to the
// upstream, to have the upstream's answer counted once, as any login's
// is: ObserveOutcome then counts a failure against its lockout keys or
// lets a success reset them (Finish, without an outcome, counts
// nothing). Its challenge counted no outcome (the slots it had reserved
// were given back when it was challenged) and the replay reserves none:
// a lockout that now holds was checked by RecheckHeld. An address the
// route's allow_ip or deny_ip lists is not counted, as on the first
// pass. The counters are touched only when the outcome is known.
func (x *Exchange) CountHeldOutcome() {
	rt, ip := x.Route, x.Attempt.IP
	if rt.Rules == nil || !rt.Rules.policy.TakesSlots() || x.rulesTicket != nil {
		return
	}
	if ip.IsValid() && (rt.AllowIP.Len() > 0 && rt.AllowIP.Contains(ip) || rt.DenyIP.Len() > 0 && rt.DenyIP.Contains(ip)) {
		return
	}
	t := ticketPool.Get().(*rules.Ticket)
	if x.rulesTicket = rt.Rules.policy.OutcomeTicket(&x.Attempt, t); x.rulesTicket == nil {
		ticketPool.Put(t)
	}
}

// HeldRequest rebuilds a held login on top of the continuation request r:
// method, URL, headers and body of the original; cookies of now, without
// the guard's step-up cookies. The body is read from held.Body itself,
// which the caller wipes once the replay is over.
func HeldRequest(r *http.Request, held stepup.Request) (*http.Request, error) {
	u, err := url.ParseRequestURI(held.URL)
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Method = held.Method
	// The continuation came back to the URL the login was sent to, so
	// its RequestURI (what logs show) is that one already.
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	hdr := held.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	var kept []string
	for _, c := range r.Cookies() {
		if !IsStepCookie(c.Name) {
			kept = append(kept, c.Name+"="+c.Value)
		}
	}
	hdr.Del("Cookie")
	if len(kept) > 0 {
		hdr.Set("Cookie", strings.Join(kept, "; "))
	}
	hdr.Del("Transfer-Encoding")
	r2.TransferEncoding = nil
	r2.Header = hdr
	r2.ContentLength = int64(len(held.Body))
	if len(held.Body) > 0 {
		hdr.Set("Content-Length", strconv.Itoa(len(held.Body)))
		r2.Body = io.NopCloser(bytes.NewReader(held.Body))
	} else {
		hdr.Del("Content-Length")
		r2.Body = http.NoBody
	}
	return r2, nil
}
