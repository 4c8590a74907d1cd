package caddymodule

import (
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// reportResult tells the engines that asked for this step-up how it
// ended. It returns at once: the reports run in the background.
func (s *stepUpCall) reportResult(st stepup.State, method string, success bool) {
	a := s.x.h.app
	a.reports.report(a.engineByName, st, method, success)
}

// factorRefused reports a refused factor and counts it against the
// state: once the state has seen its maximum (factor_attempts) it is
// spent and its cookie cleared, so guesses are bounded.
func (s *stepUpCall) factorRefused(st stepup.State, method string) {
	s.reportResult(st, method, false)
	if err := s.iss.FailFactor(st); err != nil {
		clearStepCookie(s.w.Header(), s.r, cookieState)
		s.x.verdict.Add(rules.Deny, refusalReason("step_up_", err))
	}
}

// passkeyRefusedFactor says whether a passkey refusal means the factor
// itself failed (a bad or cloned assertion), as opposed to a ceremony
// that expired or never began, which says nothing about the user.
func passkeyRefusedFactor(err error) bool {
	switch passkeys.ReasonOf(err) {
	case passkeys.ReasonInvalidResponse, passkeys.ReasonCloneWarning:
		return true
	}
	return false
}

// passFactor gives the browser the factor token naming this state, which
// the completion requires, and records the method for the report.
func (s *stepUpCall) passFactor(st stepup.State, method string) bool {
	tok, err := appKeys{s.x.h.app}.Seal(purposeFactor, factorClaim{Handle: st.Handle, Method: method}, s.x.h.stepUpNow(), factorTTL)
	if err != nil {
		s.internal(err)
		return false
	}
	setStepCookie(s.w.Header(), s.r, cookieFactor, tok, factorTTL)
	return true
}
