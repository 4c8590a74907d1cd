package rules

import (
	"strings"
	"time"
)

// Well-known reasons. Reasons are stable, low-cardinality identifiers: they
// are used as metric labels and in audit lines, so they never carry user
// data.
const (
	ReasonIPDenied          = "ip_denied"
	ReasonIPAllowed         = "ip_allowed"
	ReasonEngineUnavailable = "engine_unavailable"
	// ReasonEngineRefusedRequest: the engine answered that it would not
	// judge this request's content (400, 413, 422), which the client
	// chose: not an outage, so the failure policy cannot let it through.
	ReasonEngineRefusedRequest = "engine_refused_request"
	// ReasonEngineNotReviewed: the engine answered without reviewing the
	// attempt (Forter's NOT_REVIEWED), whatever action that maps to.
	ReasonEngineNotReviewed = "engine_not_reviewed"
	ReasonEngineDecline     = "engine_decline"
	ReasonEngineChallenge   = "engine_challenge"
	ReasonDeviceMissing     = "device_missing"
	ReasonDeviceEmpty       = "device_empty"
	ReasonAssertionInvalid  = "assertion_invalid"
)

// Correlation is an identifier an engine returned for this attempt, kept so
// that later updates (a second factor's result) can refer to it.
type Correlation struct {
	Engine string `json:"engine"`
	ID     string `json:"id"`
	// Detail carries engine-specific hints such as a recommended
	// verification method. Optional.
	Detail map[string]string `json:"detail,omitempty"`
}

// Verdict is the guard's decision about one attempt.
type Verdict struct {
	Action  Action
	Reasons []string
	// Score is the highest risk score an engine reported, when HasScore.
	Score    float64
	HasScore bool
	// Correlations are the engines' ids for this attempt, in the order they
	// answered.
	Correlations []Correlation
	// RetryAfter, when non-zero on a deny, tells the client when to come
	// back (rate limits answer 429 with Retry-After).
	RetryAfter time.Duration
	// Monitored lists reasons from rules that are in monitor mode: logged,
	// never acted on.
	Monitored []string
}

// Add records one contribution: the worst action wins and every reason is
// kept (once).
func (v *Verdict) Add(a Action, reason string) {
	if a > v.Action {
		v.Action = a
	}
	if reason != "" && !v.HasReason(reason) {
		v.Reasons = append(v.Reasons, reason)
	}
}

// Merge folds another verdict into v: worst action, union of reasons and
// correlations, highest score, longest retry-after.
func (v *Verdict) Merge(o Verdict) {
	if o.Action > v.Action {
		v.Action = o.Action
	}
	for _, r := range o.Reasons {
		if !v.HasReason(r) {
			v.Reasons = append(v.Reasons, r)
		}
	}
	for _, r := range o.Monitored {
		if !contains(v.Monitored, r) {
			v.Monitored = append(v.Monitored, r)
		}
	}
	v.Correlations = append(v.Correlations, o.Correlations...)
	if o.HasScore && (!v.HasScore || o.Score > v.Score) {
		v.Score, v.HasScore = o.Score, true
	}
	if o.RetryAfter > v.RetryAfter {
		v.RetryAfter = o.RetryAfter
	}
}

// HasReason reports whether reason was recorded.
func (v *Verdict) HasReason(reason string) bool { return contains(v.Reasons, reason) }

// ReasonList renders the reasons comma-separated, for headers and
// placeholders.
func (v *Verdict) ReasonList() string { return strings.Join(v.Reasons, ",") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
