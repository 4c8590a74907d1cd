package login

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/rules"
)

// ServeHTTP reads the request, decides, then passes, blocks or reports.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.legacyStepUp != nil {
		// A saved step-up route: the step-up module serves it (waiting for
		// the app and stripping the guard's headers itself).
		return h.legacyStepUp.ServeHTTP(w, r, next)
	}
	if err := h.app.Enter(w, r); err != nil {
		return err
	}
	defer h.app.Leave()
	request.StripGuardHeaders(r.Header)
	x := newExchange(h)
	err := x.serve(w, r, next)
	aborted := x.aborted
	// Not deferred: a request that panics leaves its exchange to the
	// collector rather than recycling state a panic cut short.
	x.release()
	if aborted {
		// The upstream's copy to the client failed and the guard had
		// nothing to say instead: abort the connection as reverse_proxy
		// would have, now that the bookkeeping is done.
		panic(http.ErrAbortHandler)
	}
	return err
}

// serve is one guarded request, from reading it to its audit line.
func (x *exchange) serve(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h := x.h
	x.Init(h.route, r, time.Now())
	request.WarnUntrustedForwarding(h.route, r)

	if handled, err := x.resumeContinuation(w, r, next); handled {
		return err
	}
	if err := x.readRequest(r); err != nil {
		return x.refuse(w, r, err)
	}
	if h.Event == EventLogin && h.MissingUser == MissingUserDeny && formbody.PageRequest(r, &h.spec, h.LoginIDOptions.AssertionHeader) {
		// The login page, not a login: passed as if unselected (body-policy.md#which-requests-are-logins).
		return x.serveNext(next, w, r)
	}
	if err := x.checkRequestPolicy(r); err != nil {
		return x.refuse(w, r, err)
	}
	x.loadSession(r)
	if h.Event == EventOperation {
		x.takeSessionUser()
		if err := x.prepareOperation(r); err != nil {
			return x.refuse(w, r, err)
		}
	}
	x.decide()
	x.Publish(r)

	if h.monitorOnly() {
		x.monitored()
	}
	switch x.Verdict.Action {
	case rules.Deny:
		x.Finish(r)
		return h.route.Answer(w, r, x.DenyAnswer())
	case rules.Challenge:
		err := x.challenge(w, r, next)
		x.Finish(r)
		return err
	}

	x.setUpstreamHeaders(r)
	var err error
	switch h.Event {
	case EventLogin:
		err = x.forwardLogin(w, r, next)
	case EventLogout:
		err = x.forwardLogout(w, r, next)
	case EventOperation:
		x.reportOperation(r)
		err = x.serveNext(next, w, r)
	case EventNone:
		err = x.serveNext(next, w, r)
	}
	x.Finish(r)
	return err
}

// exchange is one request to a login route: the state every guarded
// request has (request.Exchange, embedded by value so one allocation holds
// it all) and what only a login route keeps.
type exchange struct {
	request.Exchange
	h *Handler

	operation       *smartid.Operation // the operation event, built before deciding
	operationValues map[string]string  // the values it was built from
	operationErr    error              // why it could not be built (on_invalid_operation pass)

	hw      headWriter // between the upstream and the client
	fwd     forwardState
	aborted bool // the upstream aborted the response (see serveNext)
	// retained: something that outlives the request refers to the
	// exchange (see retain), so it is never recycled.
	retained bool
}

func (x *exchange) readRequest(r *http.Request) error {
	f, _, err := formbody.ParseRequest(r, x.h.MaxBody, x.h.spec)
	if err != nil {
		return err
	}
	x.useFields(f)
	return nil
}

// useFields makes f the request's fields: its user and device payload.
func (x *exchange) useFields(f formbody.Fields) {
	x.Fields = f
	x.Attempt.User, _ = f.User()
	x.Attempt.Device, x.Attempt.DevicePresent = f.Device()
}

// refuse answers a request the guard cannot read: bad_request, too_large
// or unsupported_media_type to the person, the parser's reason (never the
// body's content) in the audit line.
func (x *exchange) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	var fe *formbody.Error
	if !errors.As(err, &fe) {
		fe = &formbody.Error{Status: http.StatusBadRequest, Reason: "read_error"}
	}
	x.Refused = fe
	x.Verdict.Add(rules.Deny, "bad_request_"+fe.Reason)
	x.Publish(r)
	x.Finish(r)
	// The code follows the reason: unsupported_media_status sets only the
	// status of an unknown type, and may be the status of other refusals.
	code := pages.BadRequest
	switch {
	case fe.Reason == formbody.ReasonUnsupportedMediaType || fe.Status == http.StatusUnsupportedMediaType:
		code = pages.UnsupportedMedia
	case fe.Status == http.StatusRequestEntityTooLarge:
		code = pages.TooLarge
	}
	return x.h.route.Answer(w, r, pages.Answer{Code: code, Status: fe.Status})
}

// decide applies the route's IP lists, its assertion, its local rules
// and its engines. allow_ip and a passwordless assertion settle the
// request on their own.
func (x *exchange) decide() {
	if x.CheckIPs() {
		return
	}
	if x.checkAssertion() {
		return // a valid passwordless assertion settles the request
	}
	x.ApplyRules()
	x.consultEngines()
	if x.h.EngineOptions.Evaluate != EvaluateAfter {
		x.ApplyRulesAfterEngines()
	}
}
