package forter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"
)

// ReasonNotReviewed marks a NOT_REVIEWED answer, whatever action it maps
// to: a login Forter did not review was not vetted, even when let through
// (its session may not enrol a passkey).
const ReasonNotReviewed = rules.ReasonEngineNotReviewed

// Keys of the correlation Detail.
const (
	DetailDecision         = "decision"
	DetailRecommendation   = "recommendation"
	DetailVerificationType = "verification_type"
	DetailVerificationID   = "verification_id"
)

// maxValueLen bounds every string copied from Forter's answer into a
// verdict, so a misbehaving answer cannot bloat audit lines or state.
const maxValueLen = 128

// verdict maps a parsed login answer.
func (c *Client) verdict(r LoginResponse) (rules.Verdict, error) {
	var v rules.Verdict
	switch r.ForterDecision {
	case DecisionApprove:
	case DecisionDecline:
		v.Add(rules.Deny, rules.ReasonEngineDecline)
	case DecisionVerificationRequired:
		v.Add(rules.Challenge, rules.ReasonEngineChallenge)
	case DecisionNotReviewed:
		v.Add(c.onNotReviewed, ReasonNotReviewed)
	default:
		return rules.Verdict{}, &engine.Failure{Engine: c.name, Kind: engine.KindUnknownDecision,
			Err: fmt.Errorf("forterDecision %q", cut(r.ForterDecision, 32))}
	}
	detail := map[string]string{DetailDecision: r.ForterDecision}
	if r.Recommendation != "" {
		detail[DetailRecommendation] = cut(r.Recommendation, maxValueLen)
	}
	if m := r.VerificationMethod; m != nil {
		if m.Type != "" {
			detail[DetailVerificationType] = cut(m.Type, maxValueLen)
		}
		if m.VerificationID != "" {
			detail[DetailVerificationID] = cut(m.VerificationID, maxValueLen)
		}
	}
	v.Correlations = []rules.Correlation{{Engine: c.name, ID: cut(r.CorrelationID, maxValueLen), Detail: detail}}
	return v, nil
}

// cut returns s shortened to at most n bytes on a rune boundary, with
// invalid UTF-8 replaced.
func cut(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
