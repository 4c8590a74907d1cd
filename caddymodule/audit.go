package caddymodule

import (
	"net/http"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"
)

// finish writes the route's one audit line and counts the decision. The
// line never holds the password (the parser dropped it) nor the device
// payload (only whether one was present); the user is logged as the
// route's log_user says.
func (x *exchange) finish(r *http.Request) {
	x.settleRules()
	h := x.h
	v := &x.verdict
	h.app.metrics.decision(h.Name, v.Action.String(), v.Reasons)
	if ce := h.logger.Check(zap.InfoLevel, "login_guard"); ce != nil {
		// One inline field that writes the whole line: the encoder gets
		// the values straight from the exchange, with no field slice,
		// boxed slices or address string built per request.
		x.logged = ce.Time
		x.logField[0] = zap.Inline((*auditLine)(x))
		ce.Write(x.logField[:]...)
	}
}

// auditLine is the exchange as its audit line. Every value goes through
// the encoder's typed methods under its own key, so Caddy's log filters
// (ip_mask on "ip", say) see the same fields as ever.
type auditLine exchange

func (a *auditLine) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	x := (*exchange)(a)
	h := x.h
	v := &x.verdict
	enc.AddString("route", h.Name)
	enc.AddString("event", h.Event)
	enc.AddString("action", v.Action.String())
	_ = enc.AddArray("reasons", (*stringsLog)(&v.Reasons))
	if x.ipText != "" {
		enc.AddString("ip", x.ipText)
	} else {
		enc.AddString("ip", x.attempt.IP.String())
	}
	enc.AddBool("device_present", x.attempt.DevicePresent)
	// The line's own timestamp ends the duration: one clock read fewer.
	enc.AddDuration("duration", x.logged.Sub(x.start))
	if u := x.loggedUser(); u != "" {
		enc.AddString("user", u)
	}
	if len(v.Monitored) > 0 {
		_ = enc.AddArray("monitored", (*stringsLog)(&v.Monitored))
	}
	if x.outcome != 0 {
		enc.AddString("outcome", x.outcome.String())
	}
	if x.smartid != "" {
		enc.AddString("smartid", x.smartid)
	}
	if x.assertion != "" {
		enc.AddString("assertion", x.assertion)
	}
	if x.monitorAction != "" {
		enc.AddString("monitor_action", x.monitorAction)
	}
	if len(x.engineResults) > 0 {
		_ = enc.AddArray("engines", engineLog(x.engineResults))
	}
	if v.HasScore {
		enc.AddFloat64("score", v.Score)
	}
	if len(v.Correlations) > 0 {
		_ = enc.AddArray("correlations", correlationLog(v.Correlations))
	}
	if x.refused != nil {
		enc.AddString("refused", x.refused.Error())
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
func (x *exchange) loggedUser() string {
	u := x.attempt.User
	if u == "" && x.hasSess {
		u = x.session.User
	}
	if u == "" {
		return ""
	}
	switch x.h.LogUser {
	case "none":
		return ""
	case "hash":
		if ks := x.h.app.keyset(); ks != nil {
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
