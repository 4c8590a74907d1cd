package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/rules"
)

// guardHeaderPrefix marks headers only the guard may set: whatever a client
// sends under it is dropped before the upstream sees the request, so the
// portal can trust them.
const guardHeaderPrefix = "X-Login-Guard-"

// ServeHTTP reads the request, decides, then passes, blocks or reports.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	done, refusal := h.app.enter(w, r)
	if done == nil {
		return refusal
	}
	defer done()
	stripGuardHeaders(r.Header)
	if h.Event == EventStepUp {
		return h.serveStepUp(w, r)
	}
	x := &exchange{h: h, start: h.now(), ctx: r.Context()}
	x.verdict.Reasons = x.reasonBuf[:0]
	ip, ipText := clientAddr(r)
	x.ipText = ipText
	defer func() {
		// The upstream's copy to the client failed and the guard had
		// nothing to say instead: abort the connection as reverse_proxy
		// would have, now that the bookkeeping is done.
		if x.aborted {
			panic(http.ErrAbortHandler)
		}
	}()
	x.attempt = rules.Attempt{
		Route:     h.Name,
		Event:     h.Event,
		IP:        ip,
		UserAgent: r.UserAgent(),
		Header:    r.Header,
		Time:      x.start,
	}
	h.warnUntrustedForwarding(r)

	if handled, err := x.resumeContinuation(w, r, next); handled {
		return err
	}
	if err := x.readRequest(r); err != nil {
		return x.refuse(w, r, err)
	}
	if err := x.checkRequestPolicy(r); err != nil {
		return x.refuse(w, r, err)
	}
	x.loadSession(r)
	if h.Event == EventOperation {
		if err := x.prepareOperation(r); err != nil {
			return x.refuse(w, r, err)
		}
	}
	x.decide()
	x.publish(r)

	if h.monitorOnly() {
		x.monitored()
	}
	switch x.verdict.Action {
	case rules.Deny:
		x.finish(r)
		return h.answer(w, r, x.denyAnswer())
	case rules.Challenge:
		err := x.challenge(w, r, next)
		x.finish(r)
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
	x.finish(r)
	return err
}

// exchange is the state of one guarded request.
type exchange struct {
	h          *Handler
	start      time.Time
	attempt    rules.Attempt
	fields     formbody.Fields
	verdict    rules.Verdict
	session    guardSession
	hasSess    bool
	sessionExp time.Time // the session cookie's expiry
	outcome    rules.Outcome
	refused    *formbody.Error
	smartid    string // what happened to the SmartID event, for the audit line

	ctx           context.Context // the request's, for engine calls
	engineResults []engine.Result
	monitorAction string        // what a monitor-mode route would have done
	assertion     string        // the LoginID token's state, for the audit line
	rulesTicket   *rules.Ticket // the local rules' hold on this attempt, settled once

	operation    *smartid.Operation // the operation event, built before deciding
	operationErr error              // why it could not be built (on_invalid_operation pass)

	hw       headWriter // between the upstream and the client
	fwd      forwardState
	ipText   string          // the client address for the audit line
	logged   time.Time       // the audit line's time
	detached detachedContext // the request's context without its cancellation
	// Storage the exchange's slices start in, so a typical request does
	// not allocate them one by one: the verdict's reasons and the audit
	// line's field.
	reasonBuf [4]string
	logField  [1]zap.Field
	aborted   bool // the upstream aborted the response (see serveNext)
}

func (x *exchange) readRequest(r *http.Request) error {
	f, _, err := formbody.ParseRequest(r, x.h.MaxBody, x.h.spec)
	if err != nil {
		return err
	}
	x.fields = f
	x.attempt.User, _ = f.User()
	x.attempt.Device, x.attempt.DevicePresent = f.Device()
	return nil
}

// refuse answers a request the guard cannot read: bad_request, too_large
// or unsupported_media_type to the person, the parser's reason (never the
// body's content) in the audit line.
func (x *exchange) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	var fe *formbody.Error
	if !errors.As(err, &fe) {
		fe = &formbody.Error{Status: http.StatusBadRequest, Reason: "read_error"}
	}
	x.refused = fe
	x.verdict.Add(rules.Deny, "bad_request_"+fe.Reason)
	x.publish(r)
	x.finish(r)
	code := pages.BadRequest
	switch {
	case fe.Status == http.StatusRequestEntityTooLarge:
		code = pages.TooLarge
	case fe.Status == x.h.UnsupportedMediaStatus:
		code = pages.UnsupportedMedia
	}
	return x.h.answer(w, r, pages.Answer{Code: code, Status: fe.Status})
}

// decide applies the route's rules. allow_ip short-circuits everything:
// listed networks (an office, a monitoring probe) are never blocked or
// challenged, though their events are still reported.
func (x *exchange) decide() {
	h := x.h
	ip := x.attempt.IP
	if h.allowIP.Len() > 0 && ip.IsValid() && h.allowIP.Contains(ip) {
		x.verdict.Add(rules.Allow, rules.ReasonIPAllowed)
		return
	}
	if h.denyIP.Len() > 0 && ip.IsValid() && h.denyIP.Contains(ip) {
		x.verdict.Add(rules.Deny, rules.ReasonIPDenied)
	}
	if x.checkAssertion() {
		return // a valid passwordless assertion settles the request
	}
	x.applyRules()
	x.consultEngines()
	if x.h.Evaluate != EvaluateAfter {
		x.applyRulesAfterEngines()
	}
}

// publish exposes the verdict as placeholders for access logs and later
// handlers. They hold plain strings (an expression matcher reads them as
// such); the route and the action are boxed once, not per request.
func (x *exchange) publish(r *http.Request) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set("http.login_guard.route", x.h.nameValue)
	repl.Set("http.login_guard.action", actionValue(x.verdict.Action))
	var reasons any = ""
	switch len(x.verdict.Reasons) {
	case 0:
	case 1:
		reasons = x.verdict.Reasons[0]
	default:
		reasons = x.verdict.ReasonList()
	}
	repl.Set("http.login_guard.reasons", reasons)
}

// actionValues are the actions' names, boxed once.
var actionValues = func() (v [rules.Deny + 1]any) {
	for a := range v {
		v[a] = rules.Action(a).String()
	}
	return v
}()

func actionValue(a rules.Action) any {
	if int(a) < len(actionValues) {
		return actionValues[a]
	}
	return a.String()
}

func stripGuardHeaders(hdr http.Header) {
	for k := range hdr {
		if len(k) >= len(guardHeaderPrefix) && strings.EqualFold(k[:len(guardHeaderPrefix)], guardHeaderPrefix) {
			delete(hdr, k)
		}
	}
}

// clientIP is Caddy's view of the client, which honours trusted_proxies.
// A raw X-Forwarded-For is never read here.
func clientIP(r *http.Request) netip.Addr {
	a, _ := clientAddr(r)
	return a
}

// clientAddr is clientIP with its text for the audit line: Caddy's own
// string when it is already the canonical form (the usual case, which
// costs no allocation), else the canonical form.
func clientAddr(r *http.Request) (netip.Addr, string) {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	var a netip.Addr
	if s == "" {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			return netip.Addr{}, ""
		}
		a, s = ap.Addr(), ""
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, ""
		}
	}
	a = a.Unmap()
	var buf [48]byte
	if canon := a.AppendTo(buf[:0]); string(canon) != s {
		s = string(canon)
	}
	return a, s
}

// warnUntrustedForwarding logs once per app when a request carries
// X-Forwarded-For but did not come from one of the server's
// trusted_proxies: if a proxy or CDN sits in front, every client behind it
// shares one IP for the guard, and per-IP rules count them as one.
func (h *Handler) warnUntrustedForwarding(r *http.Request) {
	if v := r.Header["X-Forwarded-For"]; len(v) == 0 || v[0] == "" {
		return
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		return
	}
	h.xffWarn.Do(func() {
		h.logger.Warn("requests carry X-Forwarded-For but do not come from the server's trusted_proxies (is it set?): "+
			"the guard sees the proxy's address as the client, so all clients behind it share one IP; "+
			"set trusted_proxies in the server options",
			zap.String("route", h.Name))
	})
}
