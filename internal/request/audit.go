package request

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"
)

// Where a route's audit line goes (its audit_line option).
const (
	// AuditOwnLine: a line of the route's own logger.
	AuditOwnLine = "own_line"
	// AuditAccessLog: the line's values as the "login_guard" field of
	// Caddy's access log line for the request, where the server writes
	// one; a line of its own where it does not.
	AuditAccessLog = "access_log"
)

// Finish writes the route's one audit line and counts the decision. The
// line never holds the password (the parser dropped it) nor the device
// payload (only whether one was present); the user is logged as the
// route's log_user says. A route whose audit line goes to the access log
// adds its values to Caddy's access log line for r instead, when the
// server writes one for r (see accessLogFields); else it writes its own.
// It settles the rules' ticket first, so every path ends the attempt.
func (x *Exchange) Finish(r *http.Request) {
	x.Settle()
	h := x.Route
	v := &x.Verdict
	h.App.Metrics().Decision(h.Name, v.Action.String(), v.Reasons)
	if x.accessLine {
		if extra := accessLogFields(r); extra != nil {
			// The access line is written after the handler returned and
			// this exchange went back to its pool: its values are copied.
			d := &accessLogAudit{route: h.Name, event: h.Event, action: v.Action.String()}
			x.fillAudit(&d.auditRecord, time.Since(x.Start))
			d.ownSlices()
			extra.Add(zap.Object("login_guard", d))
			return
		}
	}
	if ce := h.auditLogger(v.Action).Check(zap.InfoLevel, "login_guard"); ce != nil {
		// One inline field that writes the whole line: the encoder gets
		// the values from the exchange's own record, with no field slice,
		// boxed slices or address string built per request. The line's
		// own timestamp ends the duration: one clock read fewer.
		x.fillAudit(&x.audit, ce.Time.Sub(x.Start))
		x.logField[0] = zap.Inline(&x.audit)
		ce.Write(x.logField[:]...)
	}
}

// auditLogger is the route's logger for an audit line with action a: the
// line's first three fields (route, event, action) never change for a
// route and an action, so they are encoded once, when the logger is made,
// instead of on every line. Caddy's log filters still see them as
// fields: a child logger's fields go through the same encoder.
func (h *Route) auditLogger(a rules.Action) *zap.Logger {
	h.auditOnce.Do(func() {
		for i := range h.auditLoggers {
			h.auditLoggers[i] = h.Logger.With(zap.String("route", h.Name), zap.String("event", h.Event),
				zap.String("action", rules.Action(i).String()))
		}
	})
	if int(a) < len(h.auditLoggers) {
		return h.auditLoggers[a]
	}
	return h.Logger.With(zap.String("route", h.Name), zap.String("event", h.Event), zap.String("action", a.String()))
}

// auditRecord is what an audit line says besides its route, event and
// action. Every value goes through the encoder's typed methods under its
// own key, so Caddy's log filters (ip_mask on "ip", say) see the same
// fields as ever.
type auditRecord struct {
	reasons, monitored []string
	ip                 string
	devicePresent      bool
	hasScore           bool
	duration           time.Duration
	user               string
	outcome            string
	smartid            string
	assertion          string
	sessionNote        string
	monitorAction      string
	refused            string
	score              float64
	engines            []engine.Result
	correlations       []rules.Correlation
}

// fillAudit records the exchange's audit values in a, the request having
// taken d so far. The slices are the exchange's own.
func (x *Exchange) fillAudit(a *auditRecord, d time.Duration) {
	v := &x.Verdict
	*a = auditRecord{
		reasons:       v.Reasons,
		monitored:     v.Monitored,
		ip:            x.IPText,
		devicePresent: x.Attempt.DevicePresent,
		duration:      d,
		user:          x.loggedUser(),
		smartid:       x.SmartID,
		assertion:     x.Assertion,
		sessionNote:   x.SessionNote,
		monitorAction: x.MonitorAction,
		engines:       x.EngineResults,
		hasScore:      v.HasScore,
		score:         v.Score,
		correlations:  v.Correlations,
	}
	if a.ip == "" {
		a.ip = x.Attempt.IP.String()
	}
	if x.Outcome != 0 {
		a.outcome = x.Outcome.String()
	}
	if x.Refused != nil {
		a.refused = x.Refused.Error()
	}
}

func (a *auditRecord) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	// route, event and action are the audit logger's (see auditLogger),
	// or the access log field's (see accessLogAudit).
	_ = enc.AddArray("reasons", (*stringsLog)(&a.reasons))
	enc.AddString("ip", a.ip)
	enc.AddBool("device_present", a.devicePresent)
	enc.AddDuration("duration", a.duration)
	if a.user != "" {
		enc.AddString("user", a.user)
	}
	if len(a.monitored) > 0 {
		_ = enc.AddArray("monitored", (*stringsLog)(&a.monitored))
	}
	if a.outcome != "" {
		enc.AddString("outcome", a.outcome)
	}
	if a.smartid != "" {
		enc.AddString("smartid", a.smartid)
	}
	if a.assertion != "" {
		enc.AddString("assertion", a.assertion)
	}
	if a.sessionNote != "" {
		enc.AddString("session", a.sessionNote)
	}
	if a.monitorAction != "" {
		enc.AddString("monitor_action", a.monitorAction)
	}
	if len(a.engines) > 0 {
		_ = enc.AddArray("engines", engineLog(a.engines))
	}
	if a.hasScore {
		enc.AddFloat64("score", a.score)
	}
	if len(a.correlations) > 0 {
		_ = enc.AddArray("correlations", correlationLog(a.correlations))
	}
	if a.refused != "" {
		enc.AddString("refused", a.refused)
	}
	return nil
}

// accessLogAudit is an audit record with its route, event and action, as
// the "login_guard" field of an access log line. It owns its slices: the
// exchange's are reused once the request is done.
type accessLogAudit struct {
	route, event, action string
	auditRecord
}

// ownSlices gives the record copies of the exchange's slices.
func (a *accessLogAudit) ownSlices() {
	a.reasons = slices.Clone(a.reasons)
	a.monitored = slices.Clone(a.monitored)
	a.engines = slices.Clone(a.engines)
	a.correlations = slices.Clone(a.correlations)
}

func (a *accessLogAudit) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("route", a.route)
	enc.AddString("event", a.event)
	enc.AddString("action", a.action)
	return a.auditRecord.MarshalLogObject(enc)
}

// accessLineVar is the request variable the first guard route with
// audit_line access_log to run on a request sets, to its name: the
// request's access line is that route's, and a later guard route on the
// same request writes its own line instead of a second "login_guard" key
// in the same JSON object, which readers would drop.
const accessLineVar = "login_guard_access_line"

// claimAccessLine reports whether rt, starting on r, is the first guard
// route with audit_line access_log on the request, and marks the line
// taken if so. It must run before the request goes upstream: Caddy's
// reverse_proxy reads the request's variables from the goroutine that
// dials the upstream, which can outlive the proxying (net/http dials in
// the background and may hand the connection to another request), so a
// variable set after the proxy returned races with that read.
func claimAccessLine(r *http.Request, rt *Route) bool {
	ctx := r.Context()
	if caddyhttp.GetVar(ctx, accessLineVar) != nil {
		return false
	}
	caddyhttp.SetVar(ctx, accessLineVar, rt.NameValue)
	return true
}

// accessLogFields is where r's handlers add fields to its access log
// line, or nil when the guard cannot count on a line that holds them.
// Caddy decides whether to write one once, before the handlers run, from
// the server's logs config and the request's host; this asks the same
// questions of the same config, and whether a handler before the guard
// set log_skip, or lowered the line's level below info (log_level).
func accessLogFields(r *http.Request) *caddyhttp.ExtraLogFields {
	ctx := r.Context()
	srv, _ := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil || srv.Logs == nil {
		return nil
	}
	if skip, _ := caddyhttp.GetVar(ctx, caddyhttp.LogSkipVar).(bool); skip {
		return nil
	}
	if name, ok := caddyhttp.GetVar(ctx, caddyhttp.LogLevelVar).(string); ok {
		if l, err := zapcore.ParseLevel(name); err == nil && l < zapcore.InfoLevel {
			return nil
		}
	}
	if !hostLogged(srv.Logs, r.Host) {
		return nil
	}
	extra, _ := ctx.Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	return extra
}

// hostLogged is Caddy's own rule (Server.shouldLogRequest): a host mapped
// to a logger is logged, else one in skip_hosts is not, else every host
// is unless skip_unmapped_hosts.
func hostLogged(l *caddyhttp.ServerLogConfig, hostport string) bool {
	if len(l.LoggerNames) == 0 && len(l.SkipHosts) == 0 {
		return !l.SkipUnmappedHosts
	}
	host := hostport
	// Only a host with a port is split: SplitHostPort's error for one
	// without would be an allocation a request. Where it fails, the whole
	// value is the host, as in Caddy.
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
	}
	for name := range l.LoggerNames {
		if certmagic.MatchWildcard(host, name) {
			return true
		}
	}
	for _, h := range l.SkipHosts {
		if certmagic.MatchWildcard(host, h) {
			return false
		}
	}
	return !l.SkipUnmappedHosts
}

// stringsLog is a string list for the audit line; a pointer to the
// exchange's own slice, so passing it allocates nothing.
type stringsLog []string

func (l *stringsLog) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, s := range *l {
		enc.AppendString(s)
	}
	return nil
}

// loggedUser applies log_user: plain, hash (a keyed pseudonym, stable
// across rotations, so lines about one user still correlate) or none.
func (x *Exchange) loggedUser() string {
	u := x.Attempt.User
	if u == "" && x.HasSession {
		u = x.Session.User
	}
	if u == "" {
		return ""
	}
	switch x.Route.LogUser {
	case "none":
		return ""
	case "hash":
		if ks := x.Route.App.Keyset(); ks != nil {
			return ks.Pseudonym("log_user", u)
		}
		return ""
	}
	return u
}

// engineLog renders each engine's answer for the audit line: name,
// latency, and its action or failure kind.
type engineLog []engine.Result

func (l engineLog) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, r := range l {
		_ = enc.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
			o.AddString("engine", r.Engine)
			o.AddDuration("latency", r.Latency)
			if r.Failure != nil {
				o.AddString("failure", r.Failure.Kind)
				return nil
			}
			o.AddString("action", r.Verdict.Action.String())
			if r.Verdict.HasScore {
				o.AddFloat64("score", r.Verdict.Score)
			}
			return nil
		}))
	}
	return nil
}

// correlationLog renders engine correlation ids (never user data).
type correlationLog []rules.Correlation

func (l correlationLog) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, c := range l {
		_ = enc.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
			o.AddString("engine", c.Engine)
			o.AddString("id", c.ID)
			return nil
		}))
	}
	return nil
}
