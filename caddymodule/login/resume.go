package login

import (
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// resumeContinuation finishes a login whose user passed the step-up: the completion
// redirected here with a one-time continuation cookie. Only a route with
// step_up in resume mode takes continuations.
func (x *exchange) resumeContinuation(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (bool, error) {
	o := &x.h.StepUpOptions
	if o.StepUp == "" || o.Continuation != ContinuationResume {
		return false, nil
	}
	tok := request.ReadLoginStepCookie(r, request.CookieContinue, o.StepUpCookieDomain)
	if tok == "" {
		return false, nil
	}
	iss, rt, err := o.states.Machinery(x.h.app)
	if err != nil {
		return false, nil
	}
	// The passkey that passed the step-up must still be enrolled (an
	// admin may have removed it since the completion).
	st, err := iss.ConsumeContinuation(tok, stepup.Binding{Route: x.h.Name, IP: x.Attempt.IP, UserAgent: x.Attempt.UserAgent, LoginHost: r.Host}, x.h.route.PasskeyStands(r.Context(), rt.Passkeys))
	// A continuation the shared store (or the passkey storage) could not
	// check was not spent: its cookie stays, and the same request sent
	// again once the store answers finishes the login (once).
	request.ClearUsedStepCookie(w.Header(), r, request.CookieContinue, o.StepUpCookieDomain, err)
	if err != nil {
		if r.ContentLength != 0 {
			// A login of its own that carried a stale cookie along: it is
			// judged like any other.
			return false, nil
		}
		return true, x.resumeRefused(w, r, request.RefusalReason("step_up_", err))
	}
	x.Attempt.User = st.User
	switch st.Phase {
	case stepup.PhaseBefore:
		req, err := rt.Held.TakeRequest(st.Ref())
		if err != nil {
			return true, x.resumeRefused(w, r, request.RefusalReason("step_up_", err))
		}
		return true, x.replay(w, r, next, st, req)
	case stepup.PhaseAfter:
		resp, err := rt.Held.TakeResponse(st.Ref())
		if err != nil {
			return true, x.resumeRefused(w, r, request.RefusalReason("step_up_", err))
		}
		if refused, err := x.heldRefused(w, r, resp.Client); refused {
			return true, err
		}
		// A withheld answer is the portal's success, not counted when it
		// came (forwardLogin): its release resets the lockouts, once.
		x.CountHeldOutcome(resp.Client)
		x.markSteppedUp()
		x.Publish(r)
		err = x.releaseResponse(w, r, resp)
		x.Finish(r)
		return true, err
	}
	return true, x.resumeRefused(w, r, "step_up_bad_phase")
}

// replay forwards the held request in place of the empty continuation
// POST, through the route's normal forwarding, so the session cookie,
// the analytics report and the lockouts' count of its outcome
// (CountHeldOutcome) happen as for any allowed login, unless the route
// now refuses it (RecheckHeld). The parser keeps no copy of the body
// (ParseHeld); the decrypted body the upstream reads is wiped on every
// way out, once the next handler has returned and the audit line is
// written (a late read by the transport fails: see request.HeldBody).
func (x *exchange) replay(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, st stepup.State, held stepup.Request) error {
	defer clear(held.Body) // also when the entry is corrupt (no HeldBody then)
	r2, body, err := request.HeldRequest(r, held)
	if err != nil {
		return x.resumeRefused(w, r, "step_up_held_corrupt")
	}
	defer body.Wipe()
	x.Attempt.Header = r2.Header
	f, err := request.ParseHeld(r2, body, x.h.MaxBody, x.h.spec)
	if err != nil {
		return x.refuse(w, r2, err)
	}
	x.useFields(f)
	// The cookies are the continuation's: the guard session counts only
	// beside the portal session it was issued with, as on the first pass,
	// or a thief could pass the step-up with their own sessions and bring
	// a stolen portal session to the replay.
	x.loadSession(r2)
	u, refusal := x.factorUser()
	if refusal != "" || u != st.User {
		return x.resumeRefused(w, r2, "step_up_"+stepup.ReasonUserMismatch)
	}
	x.Attempt.User = u
	if refused, err := x.heldRefused(w, r2, held.Client); refused {
		return err
	}
	if x.h.Event == EventOperation {
		x.heldOperation(held.Operation)
	}
	x.CountHeldOutcome(held.Client)
	x.markSteppedUp()
	x.Publish(r2)
	err = x.forwardAllowed(w, r2, next)
	x.Finish(r2)
	return err
}

// heldRefused answers a held login (or withheld answer) from client that
// the route now refuses (request.RecheckHeld: a deny_ip added by a
// reload, a lockout reached since it was held, for client or the
// continuation's address) with the deny a login would get now; the held
// entry, already taken, is dropped. A route now in monitor mode only
// notes the refusal.
func (x *exchange) heldRefused(w http.ResponseWriter, r *http.Request, client netip.Addr) (bool, error) {
	if x.RecheckHeld(client) {
		return false, nil
	}
	if x.h.monitorOnly() {
		x.monitored()
		return false, nil
	}
	x.Publish(r)
	x.Finish(r)
	return true, x.h.route.Answer(w, r, x.DenyAnswer())
}

// resumeRefused ends a continuation that cannot finish (or, the store
// down, cannot finish now): the reason goes to the audit line, the person
// is told what to do (sign in again, or try again).
func (x *exchange) resumeRefused(w http.ResponseWriter, r *http.Request, reason string) error {
	x.Verdict.Add(rules.Deny, reason)
	x.Publish(r)
	x.Finish(r)
	return x.h.route.Answer(w, r, request.StepUpAnswer(w.Header(), reason))
}
