package login

import (
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/formbody"
)

// missing_user values.
const (
	MissingUserDeny    = "deny"
	MissingUserAllow   = "allow"
	MissingUserMonitor = "monitor"
)

// on_invalid_operation values.
const (
	OnInvalidOperationRefuse = "refuse"
	OnInvalidOperationPass   = "pass"
)

// reasonMissingUser is the reason a monitored login without a user logs.
const reasonMissingUser = "missing_user"

func (h *Handler) validateRequestPolicy() error {
	switch h.MissingUser {
	case "":
	case MissingUserDeny, MissingUserAllow, MissingUserMonitor:
		if h.Event != EventLogin {
			return fmt.Errorf("route %q: missing_user is only for event login", h.Name)
		}
	default:
		return fmt.Errorf("route %q: missing_user must be deny, allow or monitor, not %q", h.Name, h.MissingUser)
	}
	switch h.OnInvalidOperation {
	case "":
	case OnInvalidOperationRefuse, OnInvalidOperationPass:
		if h.Event != EventOperation {
			return fmt.Errorf("route %q: on_invalid_operation is only for event operation", h.Name)
		}
	default:
		return fmt.Errorf("route %q: on_invalid_operation must be refuse or pass, not %q", h.Name, h.OnInvalidOperation)
	}
	return nil
}

// logMissingUserPolicy says at start which login routes refuse a login
// without a user: the default changed, and an identifier-first portal
// whose password step carries no user needs `missing_user allow`.
func (h *Handler) logMissingUserPolicy() {
	if h.Event == EventLogin && h.MissingUser == MissingUserDeny {
		h.logger.Info("login route refuses logins without a user (missing_user deny); "+
			"set missing_user allow for an identifier-first flow whose password step carries no user",
			zap.String("route", h.Name), zap.String("user_field", h.UserField))
	}
}

// checkRequestPolicy refuses what the guard would judge blind: a login
// without a user (every user-keyed rule, engine and step-up would stop
// applying), and a header a `when` rule reads, or the assertion_header,
// that comes more than once (the rule sees the values joined, the guard
// verifies the first token, while the portal's framework typically reads
// one of them, or all joined).
func (x *exchange) checkRequestPolicy(r *http.Request) error {
	if x.h.Event == EventLogin && strings.TrimSpace(x.Attempt.User) == "" {
		switch x.h.MissingUser {
		case MissingUserDeny:
			return formbody.Refusal(http.StatusBadRequest, formbody.ReasonMissingUser,
				"login has no user (field "+x.h.spec.UserField+")")
		case MissingUserMonitor:
			x.Verdict.Monitored = append(x.Verdict.Monitored, reasonMissingUser)
		}
	}
	if name, repeated := x.h.route.Rules.RepeatedHeader(r.Header); repeated {
		x.h.logger.Debug("request refused: a header a when rule reads is repeated",
			zap.String("route", x.h.Name), zap.String("header", name))
		return formbody.Refusal(http.StatusBadRequest, formbody.ReasonRepeatedHeader,
			"a header a rule reads appears more than once")
	}
	if o := &x.h.LoginIDOptions; o.AssertionHeader != "" && o.checksTokens() && len(r.Header.Values(o.AssertionHeader)) > 1 {
		return formbody.Refusal(http.StatusBadRequest, formbody.ReasonRepeatedHeader,
			"the assertion header appears more than once")
	}
	return nil
}
