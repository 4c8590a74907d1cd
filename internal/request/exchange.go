// Package request holds what both route handlers (the login route and the
// step-up route) do with a guarded request: strip the guard's headers,
// find the client's address, build the attempt, apply the IP lists and
// the local rules, answer a refusal, and write the one audit line. The
// handlers never import each other; they share this package and the app.
package request

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/formbody"
	"github.com/login-guard/login_guard/rules"
)

// Event kinds a route guards.
const (
	EventLogin     = "login"
	EventLogout    = "logout"
	EventOperation = "operation"
	// EventNone guards a route with rules only: no analytics event.
	EventNone = "none"
	// EventStepUp is the step-up route's: its pages and endpoints.
	EventStepUp = "step_up"
)

// HeaderPrefix marks headers only the guard may set: whatever a client
// sends under it is dropped before the upstream sees the request, so the
// portal can trust them.
const HeaderPrefix = "X-Login-Guard-"

// Route is what a provisioned route handler shares with this package.
type Route struct {
	Name string
	// NameValue is Name boxed once for the route placeholder, so
	// publishing it allocates nothing.
	NameValue any
	Event     string
	// LogUser is plain, hash or none: how the audit line names the user.
	LogUser string
	// AuditToAccessLog puts the audit line's values in Caddy's access log
	// line for the request, as its "login_guard" field, where the server
	// writes one (audit_line access_log).
	AuditToAccessLog bool
	// ErrorPages says who writes the route's refusals (ErrorPagesGuard
	// or ErrorPagesHandleErrors).
	ErrorPages string
	App        *app.App
	Logger     *zap.Logger
	// AllowIP skips every rule and engine; DenyIP refuses.
	AllowIP, DenyIP rules.IPList
	// Rules are the route's local rules; nil without any.
	Rules *Rules
	// XFFWarn guards the untrusted X-Forwarded-For warning (the app's).
	XFFWarn *sync.Once
	// leftmostWarned: the warning that Caddy took the client-chosen end of
	// a forwarded chain was logged (see warnLeftmostForwarded); later
	// requests skip the check.
	leftmostWarned atomic.Bool

	// The audit line's loggers, one per action, each with the route, the
	// event and the action already encoded (see auditLogger).
	auditOnce    sync.Once
	auditLoggers [rules.Deny + 1]*zap.Logger
}

// Exchange is the state of one guarded request.
type Exchange struct {
	Route   *Route
	Start   time.Time
	Ctx     context.Context // the request's, for store and engine calls
	Attempt rules.Attempt
	Fields  formbody.Fields
	Verdict rules.Verdict
	// Session is the guard session the request carries, if HasSession.
	Session    app.Session
	HasSession bool
	SessionExp time.Time // the session cookie's expiry
	Outcome    rules.Outcome
	// What the audit line says besides the verdict.
	Refused       *formbody.Error
	SmartID       string // what happened to the SmartID event
	EngineResults []engine.Result
	MonitorAction string // what a monitor-mode route would have done
	Assertion     string // the LoginID token's state
	SessionNote   string // why a guard session the request carried was not counted
	IPText        string // the client address for the audit line

	// accessLine: this route's values go in the request's access line,
	// where Caddy writes one (claimed in Init; see claimAccessLine).
	accessLine  bool
	rulesTicket *rules.Ticket   // the local rules' hold on this attempt, settled once
	audit       auditRecord     // the audit line's values, filled by Finish
	detached    detachedContext // the request's context without its cancellation
	// Storage the exchange's slices start in, so a typical request does
	// not allocate them one by one: the verdict's reasons and the audit
	// line's field.
	reasonBuf [4]string
	logField  [1]zap.Field
}

// Init starts the exchange of one request: the attempt as far as headers
// and the connection tell it. (An exchange is embedded by value in the
// handlers' own request state, so it is initialised, not allocated.)
func (x *Exchange) Init(rt *Route, r *http.Request, now time.Time) {
	x.Route, x.Start, x.Ctx = rt, now, r.Context()
	x.Verdict.Reasons = x.reasonBuf[:0]
	ip, ipText := ClientAddr(r)
	x.IPText = ipText
	x.Attempt = rules.Attempt{
		Route:     rt.Name,
		Event:     rt.Event,
		IP:        ip,
		UserAgent: firstValue(r.Header["User-Agent"]),
		Header:    r.Header,
		Time:      now,
	}
	if rt.AuditToAccessLog {
		x.accessLine = claimAccessLine(r, rt)
	}
}

// firstValue is a header's first value read by its canonical key, which
// spares Header.Get's canonicalisation of the key on every request.
func firstValue(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// SetIPLists parses the route's allow_ip and deny_ip ranges, placeholders
// ({env.*}) resolved by res first: an unset one is an error, not a range
// left out of a deny list.
func (h *Route) SetIPLists(res *caddyopt.Resolver, allow, deny []string) error {
	allow, deny = res.Values("allow_ip", allow), res.Values("deny_ip", deny)
	if res.Err != nil {
		return res.Err
	}
	var err error
	if h.AllowIP, err = rules.ParseIPList(allow); err != nil {
		return fmt.Errorf("allow_ip: %v", err)
	}
	if h.DenyIP, err = rules.ParseIPList(deny); err != nil {
		return fmt.Errorf("deny_ip: %v", err)
	}
	return nil
}

// CheckIPs applies the route's IP lists. It returns true when allow_ip
// settles the request: listed networks (an office, a monitoring probe)
// are never blocked or challenged, though their events are still
// reported.
func (x *Exchange) CheckIPs() (allowed bool) {
	rt, ip := x.Route, x.Attempt.IP
	if rt.AllowIP.Len() > 0 && ip.IsValid() && rt.AllowIP.Contains(ip) {
		x.Verdict.Add(rules.Allow, rules.ReasonIPAllowed)
		return true
	}
	if rt.DenyIP.Len() > 0 && ip.IsValid() && rt.DenyIP.Contains(ip) {
		x.Verdict.Add(rules.Deny, rules.ReasonIPDenied)
	}
	return false
}

// Allow lets the request pass with reason. Verdict.Add cannot lower an
// action (worst wins), so the action is set directly.
func (x *Exchange) Allow(reason string) {
	x.Verdict.Action = rules.Allow
	x.Verdict.Reasons = append(x.Verdict.Reasons, reason)
}

// Publish exposes the verdict as placeholders for access logs and later
// handlers. They hold plain strings (an expression matcher reads them as
// such); the route and the action are boxed once, not per request.
func (x *Exchange) Publish(r *http.Request) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set("http.login_guard.route", x.Route.NameValue)
	repl.Set("http.login_guard.action", actionValue(x.Verdict.Action))
	var reasons any = ""
	switch len(x.Verdict.Reasons) {
	case 0:
	case 1:
		reasons = boxed(x.Verdict.Reasons[0])
	default:
		reasons = x.Verdict.ReasonList()
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

// StripGuardHeaders drops every X-Login-Guard-* header a client sent,
// spelt with underscores too (X_Login_Guard_User): CGI-style gateways
// (Caddy's php_fastcgi, WSGI and Rack servers) give both spellings the
// same name, HTTP_X_LOGIN_GUARD_USER, so a client's underscore copy could
// stand in for the guard's header. It runs before anything else reads the
// request.
func StripGuardHeaders(hdr http.Header) {
	for k := range hdr {
		// The first byte turns most names away before the compare (a
		// key set straight into the map may not be canonical).
		if len(k) >= len(HeaderPrefix) && k[0]|0x20 == 'x' && guardPrefix(k) {
			delete(hdr, k)
		}
	}
}

// guardPrefix says whether k starts with HeaderPrefix, ignoring case and
// reading '_' as '-'.
func guardPrefix(k string) bool {
	for i := 0; i < len(HeaderPrefix); i++ {
		c := k[i]
		if c == '_' {
			c = '-'
		}
		if c|0x20 != HeaderPrefix[i]|0x20 {
			return false
		}
	}
	return true
}

// ClientIP is Caddy's view of the client, which honours trusted_proxies.
// A raw X-Forwarded-For is never read here.
func ClientIP(r *http.Request) netip.Addr {
	a, _ := ClientAddr(r)
	return a
}

// ClientAddr is ClientIP with its text for the audit line: Caddy's own
// string when it is already the canonical form (the usual case, which
// costs no allocation), else the canonical form.
func ClientAddr(r *http.Request) (netip.Addr, string) {
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

// warnLeftmostForwarded logs once per route when a trusted proxy passed a
// chain of several addresses and the server lacks trusted_proxies_strict:
// Caddy then takes the leftmost address, which is whatever the client sent
// when the proxy appends to the header (nginx's $proxy_add_x_forwarded_for,
// AWS ALB, Google's and Azure's load balancers), so one client can take a
// fresh address, and fresh per-IP counters, with every request, or one in
// an allow_ip range.
func warnLeftmostForwarded(rt *Route, r *http.Request) {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil || srv.TrustedProxiesStrict > 0 {
		return
	}
	entries := 0
	for _, name := range srv.ClientIPHeaders {
		for _, v := range r.Header.Values(name) {
			entries += strings.Count(v, ",") + 1
		}
	}
	if entries < 2 {
		return
	}
	if rt.leftmostWarned.CompareAndSwap(false, true) {
		rt.Logger.Warn("a trusted proxy forwarded a chain of client addresses and the server has no trusted_proxies_strict: "+
			"Caddy takes the leftmost address, which the client chooses when the proxy appends to the header, "+
			"so per-IP rules, allow_ip and deny_ip can be dodged; set trusted_proxies_strict in the server options",
			zap.String("route", rt.Name), zap.Strings("client_ip_headers", srv.ClientIPHeaders))
	}
}

// WarnUntrustedForwarding logs once per app when a request carries
// X-Forwarded-For but did not come from one of the server's
// trusted_proxies: if a proxy or CDN sits in front, every client behind it
// shares one IP for the guard, and per-IP rules count them as one.
func WarnUntrustedForwarding(rt *Route, r *http.Request) {
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if !rt.leftmostWarned.Load() {
			warnLeftmostForwarded(rt, r)
		}
		return
	}
	if v := r.Header["X-Forwarded-For"]; len(v) == 0 || v[0] == "" {
		return
	}
	rt.XFFWarn.Do(func() {
		rt.Logger.Warn("requests carry X-Forwarded-For but do not come from the server's trusted_proxies (is it set?): "+
			"the guard sees the proxy's address as the client, so all clients behind it share one IP; "+
			"set trusted_proxies in the server options",
			zap.String("route", rt.Name))
	})
}

// OriginalRequest is the request as the client sent it, before any
// rewrite: the completion must bring the browser back to that URL.
func OriginalRequest(r *http.Request) *http.Request {
	if or, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && or.URL != nil {
		if or.RequestURI == "" {
			or.RequestURI = or.URL.RequestURI()
		}
		return &or
	}
	if r.RequestURI == "" {
		r2 := *r
		r2.RequestURI = r.URL.RequestURI()
		return &r2
	}
	return r
}
