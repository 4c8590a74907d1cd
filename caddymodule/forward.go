package caddymodule

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/rules"
)

// forwardLogin passes an allowed login upstream, judges the answer, issues
// the guard's session cookie on success and reports the login to SmartID
// once the outcome (and so the session) is known.
func (x *exchange) forwardLogin(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h := x.h
	// A login finishing a passed step-up is not put to the engines again.
	after := h.Evaluate == EvaluateAfter && len(h.EngineOptions.engines) > 0 && !x.steppedUp()
	hw := &headWriter{w: w, wantBody: h.Success.needsBody() || after, limit: h.Success.BodyLimit, ctx: r.Context()}
	if after {
		hw.limit = max(hw.limit, h.HoldLimit)
	}
	var sess string
	var held *heldResponse
	hw.onHead = func(status int, hdr http.Header, body []byte, complete bool) bool {
		ok := h.Success.judgeHead(status, hdr) && (!h.Success.needsBody() || (complete && h.Success.judgeBody(body)))
		if !ok {
			x.outcome = rules.OutcomeFailure
			return true
		}
		x.outcome = rules.OutcomeSuccess
		if after {
			x.attempt.Outcome = rules.OutcomeSuccess
			x.askEngines()
			x.applyRulesAfterEngines()
			if h.monitorOnly() {
				x.monitored()
			}
			if x.verdict.Action != rules.Allow {
				if complete && headerBytes(hdr) <= maxHeldHeaderBytes {
					held = &heldResponse{Status: status, Header: hdr.Clone(), Body: append([]byte(nil), body...)}
				}
				return false
			}
		}
		sess = x.smartIDSession(hdr)
		if err := x.setSessionCookie(r, hdr, guardSession{User: x.attempt.User, Session: sess}); err != nil {
			h.logger.Error("issuing session cookie", zap.String("route", h.Name), zap.Error(err))
		}
		return true
	}
	err := x.serveNext(next, hw, r)
	if ferr := hw.finish(); err == nil {
		err = ferr
	}
	x.attempt.Outcome = x.outcome
	if hw.blocked {
		// The upstream's copy failed because the guard withheld its
		// answer: the client gets the guard's answer instead.
		x.aborted = false
		// The engines refused a login the upstream accepted: its answer
		// (and the session it created) never reaches the browser.
		x.publish(r)
		x.reportLogin("")
		x.observeOutcome()
		if x.verdict.Action == rules.Challenge && held != nil {
			return x.challengeAfterUpstream(w, r, held)
		}
		if x.verdict.Action == rules.Challenge {
			x.verdict.Add(rules.Deny, "response_too_large_to_hold")
		}
		return x.denyError(w)
	}
	if hw.answered() {
		x.observeOutcome()
	}
	if !hw.answered() {
		// The upstream did not answer (it errored, or the client left
		// first and the proxy recorded 499): that says nothing about the
		// password, so nothing is counted or reported.
		x.smartid = "skipped_upstream_error"
		if hw.clientGone {
			x.smartid = "skipped_client_gone"
		}
		return err
	}
	if x.outcome == rules.OutcomeSuccess || h.Report == "all" {
		x.reportLogin(sess)
	} else {
		x.smartid = "skipped_failed_login"
	}
	return err
}

// forwardLogout passes the logout on, and once the upstream accepted it,
// clears the guard cookie and reports the logout with the user and session
// of the login it closes.
func (x *exchange) forwardLogout(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	hw := &headWriter{w: w, ctx: r.Context()}
	accepted := false
	hw.onHead = func(status int, hdr http.Header, _ []byte, _ bool) bool {
		if status >= 200 && status <= 399 {
			accepted = true
			if x.hasSess {
				clearSessionCookie(r, hdr)
				x.revokeSession()
			}
		}
		return true
	}
	err := x.serveNext(next, hw, r)
	if ferr := hw.finish(); err == nil {
		err = ferr
	}
	if accepted {
		x.reportLogout()
	} else {
		x.smartid = "skipped_logout_refused"
	}
	return err
}

// errUpstreamAborted stands for reverse_proxy's abort while the guard
// finishes its bookkeeping; ServeHTTP then aborts the same way.
var errUpstreamAborted = errors.New("upstream response aborted")

// serveNext runs the next handler. reverse_proxy aborts a response whose
// copy to the client failed by panicking with http.ErrAbortHandler; that
// is turned into an error and x.aborted, so the guard still judges,
// audits, reports and settles its rule slots (ServeHTTP re-raises the
// abort afterwards unless the guard answered instead). Other panics pass.
func (x *exchange) serveNext(next caddyhttp.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			if rec != http.ErrAbortHandler {
				panic(rec)
			}
			x.aborted = true
			err = errUpstreamAborted
		}
	}()
	return next.ServeHTTP(w, r)
}

// maxHeldHeaderBytes caps the upstream headers the guard copies to hold an
// answer back; a portal that sends more is not held (the challenge becomes
// a deny) rather than letting one response pin unbounded memory.
const maxHeldHeaderBytes = 64 << 10

func headerBytes(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
