package engine

import (
	"reflect"
	"testing"

	"github.com/login-guard/login_guard/rules"
)

func TestCombine(t *testing.T) {
	allow := Result{Engine: "a", Verdict: rules.Verdict{Action: rules.Allow, Score: 10, HasScore: true,
		Correlations: []rules.Correlation{{Engine: "a", ID: "A1"}}}}
	challenge := Result{Engine: "c", Verdict: rules.Verdict{Action: rules.Challenge, Score: 70, HasScore: true,
		Reasons:      []string{rules.ReasonEngineChallenge},
		Correlations: []rules.Correlation{{Engine: "c", ID: "C1", Detail: map[string]string{"recommendation": "X"}}}}}
	deny := Result{Engine: "d", Verdict: rules.Verdict{Action: rules.Deny, Reasons: []string{rules.ReasonEngineDecline}}}
	down := Result{Engine: "x", Failure: &Failure{Engine: "x", Kind: KindTimeout}}
	down2 := Result{Engine: "y", Failure: &Failure{Engine: "y", Kind: KindBreakerOpen}}
	status := func(code int) Result { return Result{Engine: "s", Failure: StatusFailure("s", code)} }

	tests := []struct {
		name        string
		results     []Result
		policy      rules.Action
		wantAction  rules.Action
		wantReasons []string
		wantScore   float64
		wantHas     bool
		wantCorr    []string
	}{
		{"nothing", nil, rules.Deny, rules.Allow, nil, 0, false, nil},
		{"allow only", []Result{allow}, rules.Deny, rules.Allow, nil, 10, true, []string{"A1"}},
		{"worst wins", []Result{allow, challenge, deny}, rules.Allow, rules.Deny,
			[]string{rules.ReasonEngineChallenge, rules.ReasonEngineDecline}, 70, true, []string{"A1", "C1"}},
		{"failure allow policy", []Result{allow, down}, rules.Allow, rules.Allow,
			[]string{rules.ReasonEngineUnavailable}, 10, true, []string{"A1"}},
		{"failure challenge policy", []Result{down, allow}, rules.Challenge, rules.Challenge,
			[]string{rules.ReasonEngineUnavailable}, 10, true, []string{"A1"}},
		{"failure deny policy, reason once", []Result{down, challenge, down2}, rules.Deny, rules.Deny,
			[]string{rules.ReasonEngineUnavailable, rules.ReasonEngineChallenge}, 70, true, []string{"C1"}},
		{"decision worse than policy", []Result{down, deny}, rules.Challenge, rules.Deny,
			[]string{rules.ReasonEngineUnavailable, rules.ReasonEngineDecline}, 0, false, nil},
		// A 400, 413 or 422 answers the request's content, which the client
		// chose: at least a challenge, whatever the failure policy.
		{"request refused, allow policy", []Result{status(400)}, rules.Allow, rules.Challenge,
			[]string{rules.ReasonEngineRefusedRequest}, 0, false, nil},
		{"request too large, allow policy", []Result{allow, status(413)}, rules.Allow, rules.Challenge,
			[]string{rules.ReasonEngineRefusedRequest}, 10, true, []string{"A1"}},
		{"request unprocessable, deny policy", []Result{status(422)}, rules.Deny, rules.Deny,
			[]string{rules.ReasonEngineRefusedRequest}, 0, false, nil},
		// Other statuses say nothing about the request: the policy applies.
		{"key refused, allow policy", []Result{status(401), status(403), status(429), status(500)}, rules.Allow, rules.Allow,
			[]string{rules.ReasonEngineUnavailable}, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Combine(tt.results, tt.policy)
			if v.Action != tt.wantAction {
				t.Errorf("action = %s, want %s", v.Action, tt.wantAction)
			}
			if !reflect.DeepEqual(v.Reasons, tt.wantReasons) {
				t.Errorf("reasons = %v, want %v", v.Reasons, tt.wantReasons)
			}
			if v.Score != tt.wantScore || v.HasScore != tt.wantHas {
				t.Errorf("score = %v/%v, want %v/%v", v.Score, v.HasScore, tt.wantScore, tt.wantHas)
			}
			var ids []string
			for _, c := range v.Correlations {
				ids = append(ids, c.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantCorr) {
				t.Errorf("correlations = %v, want %v", ids, tt.wantCorr)
			}
		})
	}
	v := Combine([]Result{challenge}, rules.Allow)
	if v.Correlations[0].Detail["recommendation"] != "X" {
		t.Error("correlation detail lost")
	}
}
