package stepuproute

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/internal/stepup"
)

// passkeyReason names a passkey refusal (or a LoginID registration's,
// which keep their loginid_ name) for the audit line.
func passkeyReason(err error) string {
	if r := passkeys.ReasonOf(err); strings.HasPrefix(r, "loginid_") {
		return r
	} else if r != "" {
		return "passkey_" + r
	}
	return "passkey_internal_error"
}

// passkeyFailed answers a refused ceremony step or enrolment with what
// the person can do about it; the guard's own failures are a logged 500.
func (s *stepUpCall) passkeyFailed(err error) {
	switch passkeys.ReasonOf(err) {
	case "":
		if errors.Is(err, passkeys.ErrStorageUnavailable) {
			// Caddy's storage did not answer: say so, and try later.
			s.h.logger.Warn("passkey storage did not answer in time", zap.String("route", s.h.Name), zap.Error(err))
			s.w.Header().Set("Retry-After", "5")
			s.fail("passkey_storage_unavailable", pages.Answer{Code: pages.Unavailable})
			return
		}
		s.internal(err)
	case passkeys.ReasonBusy:
		s.busy(passkeyReason(err))
	default:
		s.fail(passkeyReason(err), pages.Answer{Code: request.PasskeyCode(err)})
	}
}

// clientContext names the client (its address prefix, as the state binds
// it) for the passkey ceremonies' per-client share.
func (s *stepUpCall) clientContext() context.Context {
	p, _ := s.h.stepUp.Prefix.Of(s.x.Attempt.IP)
	return passkeys.WithClient(s.r.Context(), p)
}

// loginBegin starts an assertion for the user the state names: the user
// is never taken from the request.
func (s *stepUpCall) loginBegin() {
	st, ok := s.endpointState()
	if !ok {
		return
	}
	if s.rulesDeny() {
		return
	}
	opts, ceremony, err := s.pk.BeginLogin(s.clientContext(), st.User)
	s.answerBegin(opts, ceremony, err, "passkey_begin")
}

// loginFinish verifies the assertion and, when it holds, gives the browser
// a factor token naming this state, which the completion requires.
func (s *stepUpCall) loginFinish() {
	st, ok := s.endpointState()
	if !ok {
		return
	}
	if s.rulesDeny() {
		return
	}
	res, err := s.pk.FinishLogin(s.r.Context(), s.takeCeremony(), st.User, s.r)
	if err != nil {
		if passkeyRefusedFactor(err) {
			s.factorRefused(st, MethodPasskey)
		}
		s.passkeyFailed(err)
		return
	}
	if !s.passFactor(st, factorClaim{Method: MethodPasskey, Passkey: passkeys.CredentialDigest(res.CredentialID)}) {
		return
	}
	s.x.Allow("passkey_ok")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}

// enrolProofs collects what the browser presents to be allowed to
// register a passkey. A pending step-up of this browser vetoes: during a
// challenge the person at the keyboard has shown only the password. Any
// step-up route's state counts (no place is compared), but only one that
// opens for this client under the name the guard set it: garbage, another
// client's state, or one a sibling host planted under the shared-domain
// name is ignored, or whoever can set a cookie for the site could stop its
// users from enrolling. A state that could not be checked (the spent-token
// set full, or the shared store down) still vetoes.
func (s *stepUpCall) enrolProofs() []passkeys.Proof {
	var ps []passkeys.Proof
	st, err := s.openState(stepup.Binding{IP: s.x.Attempt.IP, UserAgent: s.x.Attempt.UserAgent})
	if reason := stepup.ReasonOf(err); err == nil || reason == stepup.ReasonReplayFull || reason == stepup.ReasonStoreUnavailable {
		ps = append(ps, passkeys.StepUpProof{User: st.User})
	}
	s.x.LoadSession(s.r)
	if s.x.HasSession {
		ps = append(ps, passkeys.SessionProof{
			User:             s.x.Session.User,
			Challenged:       s.x.Session.Challenged,
			UpstreamAccepted: true, // the guard issues its session only then
			LoginAt:          time.Unix(s.x.Session.LoginAt, 0),
		})
	}
	if tok := request.ReadStepCookie(s.r, request.CookieEnrol); tok != "" {
		ps = append(ps, passkeys.EnrolTokenProof{Token: tok})
	}
	if tok := request.ReadStepCookie(s.r, request.CookieConfirm); tok != "" {
		ps = append(ps, passkeys.ConfirmProof{Token: tok})
	}
	return ps
}

// enrolCaller checks what an enrolment endpoint's caller presents: the
// proofs, checked by may (MayEnroll, or ConfirmUser for a confirmation),
// the account they name put on the audit line, then the route's rules.
// ok is false once the request was answered.
func (s *stepUpCall) enrolCaller(may func(...passkeys.Proof) (string, error)) (proofs []passkeys.Proof, ok bool) {
	proofs = s.enrolProofs()
	user, err := may(proofs...)
	if err != nil {
		s.passkeyFailed(err)
		return nil, false
	}
	s.x.Attempt.User = user
	if s.rulesDeny() {
		return nil, false
	}
	return proofs, true
}

// mayEnroll is MayEnroll for enrolCaller.
func (s *stepUpCall) mayEnroll(proofs ...passkeys.Proof) (string, error) {
	return s.pk.MayEnroll(s.r.Context(), proofs...)
}

// mayOpenEnrolPage is mayEnroll, but for an account that has a passkey
// it asks only what a confirmation asks: the page's script confirms with
// one of its passkeys before it registers another (again, when the
// passkey of the browser's confirmation was removed since).
func (s *stepUpCall) mayOpenEnrolPage(proofs ...passkeys.Proof) (string, error) {
	user, err := s.mayEnroll(proofs...)
	if passkeys.NeedsConfirmation(err) {
		return s.pk.ConfirmUser(proofs...)
	}
	return user, err
}

// answerBegin answers a ceremony's begin: its options, and its id in the
// ceremony cookie for the finish.
func (s *stepUpCall) answerBegin(opts any, ceremony string, err error, reason string) {
	if err != nil {
		s.passkeyFailed(err)
		return
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieCeremony, ceremony, passkeys.DefaultCeremonyTTL)
	s.x.Allow(reason)
	s.writeJSON(http.StatusOK, opts)
}

// takeCeremony is the ceremony id the finish presents; its cookie is
// cleared, as a ceremony finishes once.
func (s *stepUpCall) takeCeremony() string {
	ceremony := request.ReadStepCookie(s.r, request.CookieCeremony)
	request.ClearStepCookie(s.w.Header(), s.r, request.CookieCeremony)
	return ceremony
}

// confirmBegin starts an assertion with one of the signed-in account's
// passkeys, which an account that has one needs before it adds another
// (passkeys.ConfirmProof).
func (s *stepUpCall) confirmBegin() {
	proofs, ok := s.enrolCaller(s.pk.ConfirmUser)
	if !ok {
		return
	}
	opts, ceremony, err := s.pk.BeginConfirm(s.clientContext(), proofs...)
	s.answerBegin(opts, ceremony, err, "passkey_confirm_begin")
}

// confirmFinish verifies that assertion and gives the browser the
// confirmation the registration then presents.
func (s *stepUpCall) confirmFinish() {
	proofs, ok := s.enrolCaller(s.pk.ConfirmUser)
	if !ok {
		return
	}
	tok, err := s.pk.FinishConfirm(s.r.Context(), s.takeCeremony(), s.r, proofs...)
	if err != nil {
		s.passkeyFailed(err)
		return
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieConfirm, tok, passkeys.ConfirmTTL)
	s.x.Allow("passkey_confirm_ok")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}

func (s *stepUpCall) registerBegin() {
	proofs, ok := s.enrolCaller(s.mayEnroll)
	if !ok {
		return
	}
	opts, ceremony, err := s.pk.BeginRegistration(s.clientContext(), proofs...)
	s.answerBegin(opts, ceremony, err, "passkey_register_begin")
}

func (s *stepUpCall) registerFinish() {
	proofs, ok := s.enrolCaller(s.mayEnroll)
	if !ok {
		return
	}
	reg, err := s.pk.FinishRegistration(s.r.Context(), s.takeCeremony(), s.r, proofs...)
	if err != nil {
		s.passkeyFailed(err)
		return
	}
	if reg.ViaToken {
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieEnrol)
	}
	if request.ReadStepCookie(s.r, request.CookieConfirm) != "" {
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieConfirm)
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieEnrolled, enrolledPasskey, enrolledTTL)
	s.x.Allow("passkey_enrolled")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}
