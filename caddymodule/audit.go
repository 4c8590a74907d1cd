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
		fields := []zap.Field{
			zap.String("route", h.Name),
			zap.String("event", h.Event),
			zap.String("action", v.Action.String()),
			zap.Strings("reasons", v.Reasons),
			zap.String("ip", x.attempt.IP.String()),
			zap.Bool("device_present", x.attempt.DevicePresent),
			zap.Duration("duration", h.now().Sub(x.start)),
		}
		if u := x.loggedUser(); u != "" {
			fields = append(fields, zap.String("user", u))
		}
		if len(v.Monitored) > 0 {
			fields = append(fields, zap.Strings("monitored", v.Monitored))
		}
		if x.outcome != 0 {
			fields = append(fields, zap.String("outcome", x.outcome.String()))
		}
		if x.smartid != "" {
			fields = append(fields, zap.String("smartid", x.smartid))
		}
		if x.assertion != "" {
			fields = append(fields, zap.String("assertion", x.assertion))
		}
		if x.monitorAction != "" {
			fields = append(fields, zap.String("monitor_action", x.monitorAction))
		}
		if len(x.engineResults) > 0 {
			fields = append(fields, zap.Array("engines", engineLog(x.engineResults)))
		}
		if v.HasScore {
			fields = append(fields, zap.Float64("score", v.Score))
		}
		if len(v.Correlations) > 0 {
			fields = append(fields, zap.Array("correlations", correlationLog(v.Correlations)))
		}
		if x.refused != nil {
			fields = append(fields, zap.String("refused", x.refused.Error()))
		}
		ce.Write(fields...)
	}
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
