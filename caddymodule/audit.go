package caddymodule

import (
	"net/http"

	"go.uber.org/zap"
)

// finish writes the route's one audit line and counts the decision. The
// line never holds the password (the parser dropped it) nor the device
// payload (only whether one was present); the user is logged as the
// route's log_user says.
func (x *exchange) finish(r *http.Request) {
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
