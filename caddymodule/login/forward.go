package login

import (
	"cmp"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/rules"
)

// forwardLogin passes an allowed login upstream, judges the answer, issues
// the guard's session cookie on success and reports the login to SmartID
// once the outcome (and so the session) is known.
func (x *exchange) forwardLogin(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h := x.h
	// A login finishing a passed step-up is not put to the engines again.
	x.fwd = forwardState{
		r:     r,
		after: x.verdictPending(),
	}
	hw := &x.hw
	*hw = headWriter{w: w, judge: (*loginJudge)(x), wantBody: h.Success.needsBody() || x.fwd.after, limit: h.Success.BodyLimit, ctx: r.Context()}
	if x.fwd.after {
		hw.limit = max(hw.limit, cmp.Or(h.EngineOptions.HoldLimit, defaultHoldLimit))
	}
	err := x.serveNext(next, hw, r)
	if ferr := hw.finish(); err == nil {
		err = ferr
	}
	x.Attempt.Outcome = x.Outcome
	if hw.blocked {
		// The upstream's copy failed because the guard withheld its
		// answer: the client gets the guard's answer instead.
		x.aborted = false
		// The engines refused a login the upstream accepted: its answer
		// (and the session it created) never reaches the browser.
		x.Publish(r)
		x.reportLogin("")
		// Its success is not counted (Finish gives the slots back): a
		// right password whose answer never reaches the client resets no
		// lockout. Released after a step-up, it is (releaseResponse).
		if x.Verdict.Action == rules.Challenge && x.fwd.held != nil {
			return x.challengeAfterUpstream(w, r, x.fwd.held)
		}
		if x.Verdict.Action == rules.Challenge {
			x.Verdict.Add(rules.Deny, "response_too_large_to_hold")
		}
		return x.h.route.Answer(w, r, x.DenyAnswer())
	}
	if hw.answered() {
		x.ObserveOutcome()
	}
	if !hw.answered() {
		// The upstream did not answer (it errored, or the client left
		// first and the proxy recorded 499): that says nothing about the
		// password, so nothing is counted or reported.
		x.SmartID = "skipped_upstream_error"
		if hw.clientGone {
			x.SmartID = "skipped_client_gone"
		}
		return err
	}
	if x.Outcome == rules.OutcomeSuccess || h.Report == "all" {
		x.reportLogin(x.fwd.session)
	} else {
		x.SmartID = "skipped_failed_login"
	}
	return err
}

// forwardState is what forwarding one request keeps between the
// upstream's answer and the guard's own.
type forwardState struct {
	r        *http.Request
	after    bool          // the engines are asked once the upstream accepted
	session  string        // the SmartID session of an accepted login
	held     *heldResponse // an accepted login's answer, held back for a challenge
	accepted bool          // the upstream accepted a logout
}

// loginJudge is the exchange judging the upstream's answer to a login.
type loginJudge exchange

func (j *loginJudge) judgeHead(status int, hdr http.Header, body []byte, complete bool) bool {
	x := (*exchange)(j)
	h := x.h
	ok := h.Success.judgeHead(status, hdr) && (!h.Success.needsBody() || (complete && h.Success.judgeBody(body)))
	if !ok {
		x.Outcome = rules.OutcomeFailure
		return true
	}
	x.Outcome = rules.OutcomeSuccess
	if x.fwd.after {
		x.Attempt.Outcome = rules.OutcomeSuccess
		x.askEngines()
		x.ApplyRulesAfterEngines()
		if h.monitorOnly() {
			x.monitored()
		}
		if x.Verdict.Action != rules.Allow {
			if complete && headerBytes(hdr) <= maxHeldHeaderBytes {
				x.fwd.held = &heldResponse{Status: status, Header: hdr.Clone(), Body: append([]byte(nil), body...)}
			}
			return false
		}
	}
	x.fwd.session = x.smartIDSession(x.fwd.r, hdr)
	if err := x.setSessionCookie(x.fwd.r, hdr, app.Session{User: x.Attempt.User, Session: x.fwd.session}); err != nil {
		h.logger.Error("issuing session cookie", zap.String("route", h.Name), zap.Error(err))
	}
	return true
}

// forwardLogout passes the logout on, and once the upstream accepted it,
// clears the guard cookie and reports the logout with the user and session
// of the login it closes.
func (x *exchange) forwardLogout(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	x.fwd = forwardState{r: r}
	hw := &x.hw
	*hw = headWriter{w: w, judge: (*logoutJudge)(x), ctx: r.Context()}
	err := x.serveNext(next, hw, r)
	if ferr := hw.finish(); err == nil {
		err = ferr
	}
	if x.fwd.accepted {
		x.reportLogout()
	} else {
		x.SmartID = "skipped_logout_refused"
	}
	return err
}

// logoutJudge is the exchange judging the upstream's answer to a logout.
type logoutJudge exchange

func (j *logoutJudge) judgeHead(status int, hdr http.Header, _ []byte, _ bool) bool {
	x := (*exchange)(j)
	if status >= 200 && status <= 399 {
		x.fwd.accepted = true
		if x.HasSession {
			clearSessionCookie(x.fwd.r, hdr)
			x.revokeSession()
		}
	}
	return true
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
