package request

import (
	"net/http"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"
)

// Finish writes the route's one audit line and counts the decision. The
// line never holds the password (the parser dropped it) nor the device
// payload (only whether one was present); the user is logged as the
// route's log_user says.
// It settles the rules' ticket first, so every path ends the attempt.
func (x *Exchange) Finish(r *http.Request) {
	x.Settle()
	h := x.Route
	v := &x.Verdict
	h.App.Metrics().Decision(h.Name, v.Action.String(), v.Reasons)
	if ce := h.auditLogger(v.Action).Check(zap.InfoLevel, "login_guard"); ce != nil {
		// One inline field that writes the whole line: the encoder gets
		// the values straight from the exchange, with no field slice,
		// boxed slices or address string built per request.
		x.logged = ce.Time
		x.logField[0] = zap.Inline((*auditLine)(x))
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

// auditLine is the exchange as its audit line. Every value goes through
// the encoder's typed methods under its own key, so Caddy's log filters
// (ip_mask on "ip", say) see the same fields as ever.
type auditLine Exchange

func (a *auditLine) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	x := (*Exchange)(a)
	v := &x.Verdict
	// route, event and action are the audit logger's (see auditLogger).
	_ = enc.AddArray("reasons", (*stringsLog)(&v.Reasons))
	if x.IPText != "" {
		enc.AddString("ip", x.IPText)
	} else {
		enc.AddString("ip", x.Attempt.IP.String())
	}
	enc.AddBool("device_present", x.Attempt.DevicePresent)
	// The line's own timestamp ends the duration: one clock read fewer.
	enc.AddDuration("duration", x.logged.Sub(x.Start))
	if u := x.loggedUser(); u != "" {
		enc.AddString("user", u)
	}
	if len(v.Monitored) > 0 {
		_ = enc.AddArray("monitored", (*stringsLog)(&v.Monitored))
	}
	if x.Outcome != 0 {
		enc.AddString("outcome", x.Outcome.String())
	}
	if x.SmartID != "" {
		enc.AddString("smartid", x.SmartID)
	}
	if x.Assertion != "" {
		enc.AddString("assertion", x.Assertion)
	}
	if x.MonitorAction != "" {
		enc.AddString("monitor_action", x.MonitorAction)
	}
	if len(x.EngineResults) > 0 {
		_ = enc.AddArray("engines", engineLog(x.EngineResults))
	}
	if v.HasScore {
		enc.AddFloat64("score", v.Score)
	}
	if len(v.Correlations) > 0 {
		_ = enc.AddArray("correlations", correlationLog(v.Correlations))
	}
	if x.Refused != nil {
		enc.AddString("refused", x.Refused.Error())
	}
	return nil
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
