package stepuproute

import (
	"time"

	"github.com/login-guard/login_guard/internal/pages"
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
// the completion requires, and records the method for the report (and,
// for a passkey, which one passed).
func (s *stepUpCall) passFactor(st stepup.State, f factorClaim) bool {
	f.Handle = st.Handle
	tok, err := s.h.app.Tokens().Seal(purposeFactor, f, time.Now(), factorTTL)
	if err != nil {
		s.internal(err)
		return false
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieFactor, tok, factorTTL)
	return true
}

// passkeyDigest names the passkey that passed (its
// passkeys.CredentialDigest, short enough for the continuation's cookie),
// or nil for another method and a factor token that names no passkey.
func (f factorClaim) passkeyDigest() []byte {
	switch {
	case f.Method != MethodPasskey:
		return nil
	case f.Passkey != nil:
		return f.Passkey
	case f.Credential != nil:
		return passkeys.CredentialDigest(f.Credential)
	}
	return nil
}

// passkeyStillStands checks, at the completion, that the passkey a
// factor token says passed is still enrolled (and not marked as cloned
// since): an admin removing a stolen passkey also stops a step-up it
// passed within the factor token's lifetime. Otherwise the completion is
// refused (the factor token cleared, the state kept: another factor may
// still finish it) and false returned. A factor token that names no
// passkey (another method, or one sealed by a version before the
// passkey was recorded) is not checked.
func (s *stepUpCall) passkeyStillStands(st stepup.State, f factorClaim) bool {
	digest := f.passkeyDigest()
	if digest == nil {
		return true
	}
	if s.pk == nil {
		s.fail("step_up_passkey_unavailable", pages.Answer{Code: pages.StepUpUnavailable})
		return false
	}
	err := s.pk.CheckPassedDigest(s.r.Context(), st.User, digest)
	if err == nil {
		return true
	}
	if passkeys.ReasonOf(err) == "" {
		s.passkeyFailed(err) // storage: a 503 to retry, or a logged 500
		return false
	}
	request.ClearStepCookie(s.w.Header(), s.r, request.CookieFactor)
	s.fail("step_up_"+passkeyReason(err), pages.Answer{Code: pages.StepUpFailed})
	return false
}
