package stepuproute

import (
	"time"

	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// reportResult tells the engines that asked for this step-up how it
// ended. It returns at once: the reports run in the background.
func (s *stepUpCall) reportResult(st stepup.State, method string, success bool) {
	s.h.app.ReportStepUpResult(st, method, success)
}

// factorRefused reports a refused factor and counts it against the
// state: once the state has seen its maximum (factor_attempts) it is
// spent and its cookie cleared, so guesses are bounded. A state the
// shared store could not record as spent keeps its cookie: it is
// refused (its count kept, or the store down) until the store answers.
func (s *stepUpCall) factorRefused(st stepup.State, method string) {
	s.reportResult(st, method, false)
	if err := s.iss.FailFactor(st); err != nil {
		request.ClearUsedStepCookie(s.w.Header(), s.r, request.CookieState, st.Domain, err)
		s.x.Verdict.Add(rules.Deny, request.RefusalReason("step_up_", err))
	}
}

// passkeyRefusedFactor says whether a passkey refusal means the factor
// itself failed (a bad or cloned assertion), as opposed to a ceremony
// that expired or never began, or a body that is no WebAuthn response at
// all, which say nothing about the user.
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
	tok, err := s.h.app.Tokens().Seal(purposeFactor, factorClaim{Handle: st.Handle, Method: method}, time.Now(), factorTTL)
	if err != nil {
		s.internal(err)
		return false
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieFactor, tok, factorTTL)
	return true
}
