package stepuproute

import (
	"errors"
	"net/http"
	"slices"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/internal/passkeys"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/rules"
)

// LoginID enrolment (`loginid { require_enrolment }`): a LoginID token
// counts only for a user whose LoginID registration the guard saw under
// the passkeys' enrolment rule, or the operator imported (see
// internal/passkeys, loginid.go). The enrolment page registers it: the
// script asks /loginid/register/begin whether this account may register
// (before anything is registered at LoginID), the operator's page runs
// DirectWeb's dw.register for the enrolling user, and
// /loginid/register/finish verifies the registration token and records
// it.

// Paths of the LoginID enrolment, under the step-up route's base.
const (
	pathLoginIDRegisterBegin  = "/loginid/register/begin"
	pathLoginIDRegisterFinish = "/loginid/register/finish"
)

// loginIDEnrolment says whether this route enrols LoginID credentials:
// it offers loginid and the loginid block requires enrolment.
func (h *Handler) loginIDEnrolment() bool {
	return slices.Contains(h.Methods, MethodLoginID) && h.app.LoginID != nil && h.app.LoginID.RequireEnrolment
}

// enrolMethods are what the enrolment page registers: a passkey where
// the route offers it; a LoginID credential where the route enrols them
// and the page is the operator's own (page_template), which alone can
// load LoginID's SDK.
func (h *Handler) enrolMethods() []string {
	var out []string
	if slices.Contains(h.Methods, MethodPasskey) {
		out = append(out, MethodPasskey)
	}
	if h.loginIDEnrolment() && h.page != nil {
		out = append(out, MethodLoginID)
	}
	return out
}

// serves says whether the route answers the endpoint: the enrolment
// pages and the passkey confirmation (which an account with a passkey
// needs before it registers another factor) wherever something can be
// enrolled, the LoginID registration where the route enrols LoginID
// credentials, every other endpoint where the route offers its method.
func (h *Handler) serves(suffix string) bool {
	switch suffix {
	case pathEnrol, pathEnrolled:
		return len(h.enrolMethods()) > 0
	case pathConfirmBegin, pathConfirmFinish:
		return slices.Contains(h.Methods, MethodPasskey) || h.loginIDEnrolment()
	case pathLoginIDRegisterBegin, pathLoginIDRegisterFinish:
		return h.loginIDEnrolment()
	}
	m := methodOfPath(suffix)
	return m == "" || slices.Contains(h.Methods, m)
}

// loginIDEnrolled says whether user may pass with LoginID here: always
// where enrolment is not required, else only with a record for that name.
func (s *stepUpCall) loginIDEnrolled(user string) (bool, error) {
	if !s.h.loginIDEnrolment() {
		return true, nil
	}
	return s.pk.LoginIDEnrolled(s.r.Context(), user)
}

// mayRegisterLoginID is MayRegisterLoginID for enrolCaller.
func (s *stepUpCall) mayRegisterLoginID(proofs ...passkeys.Proof) (string, error) {
	return s.pk.MayRegisterLoginID(s.r.Context(), proofs...)
}

// loginidRegisterBegin tells the page whether this browser may register
// a LoginID credential for its account, before it does so at LoginID:
// a registration the guard then refused would leave a credential at
// LoginID that no record covers, and the name taken there.
func (s *stepUpCall) loginidRegisterBegin() {
	if _, ok := s.enrolCaller(s.mayRegisterLoginID); !ok {
		return
	}
	s.x.Allow("loginid_register_begin")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}

// loginidRegisterFinish verifies the registration token DirectWeb's
// dw.register returned (signature, parties, freshness, first use, a
// registration and not an authentication, for exactly the enrolling
// user) and records the registration under the same proofs, checked
// again under the account's lock.
func (s *stepUpCall) loginidRegisterFinish() {
	proofs, ok := s.enrolCaller(s.mayRegisterLoginID)
	if !ok {
		return
	}
	user := s.x.Attempt.User
	jwt, ok := s.readLoginIDJWT()
	if !ok {
		return
	}
	cl, err := s.h.app.LoginIDVerifier().VerifyRegistration(s.r.Context(), jwt, user, s.x.Attempt.IP)
	if err != nil {
		s.x.Attempt.Assertion, s.x.Assertion = "invalid", "invalid:"+loginid.SubReason(err)
		var le *loginid.Error
		if errors.As(err, &le) && le.Retryable() {
			s.fail(rules.ReasonEngineUnavailable, pages.Answer{Code: pages.Unavailable})
			return
		}
		s.fail("loginid_registration_invalid", pages.Answer{Code: pages.StepUpFailed})
		return
	}
	s.x.Attempt.Assertion, s.x.Assertion = "valid", "valid"
	rec, err := s.pk.RecordLoginID(s.r.Context(), user, cl.Subject, proofs...)
	if err != nil {
		s.passkeyFailed(err)
		return
	}
	if rec.Via == passkeys.LoginIDViaEnrolLink {
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieEnrol)
	}
	if request.ReadStepCookie(s.r, request.CookieConfirm) != "" {
		request.ClearStepCookie(s.w.Header(), s.r, request.CookieConfirm)
	}
	request.SetStepCookie(s.w.Header(), s.r, request.CookieEnrolled, enrolledLoginID, enrolledTTL)
	s.x.Allow("loginid_enrolled")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}
