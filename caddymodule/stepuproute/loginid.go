package stepuproute

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/pages"
	"github.com/login-guard/login_guard/rules"
)

// maxLoginIDBody bounds the JSON the page posts: one JWT, which LoginID
// keeps well under this.
const maxLoginIDBody = 16 << 10

// loginidFinish takes the DirectWeb JWT the operator's LoginID
// integration obtained in the page and counts it as the factor when the
// app's verifier accepts it for exactly the state's user (the verifier
// also checks signature, audience, age, type and replay).
func (s *stepUpCall) loginidFinish() {
	st, ok := s.endpointState()
	if !ok {
		return
	}
	if s.rulesDeny() {
		return
	}
	jwt, ok := s.readLoginIDJWT()
	if !ok {
		return
	}
	if _, err := s.h.app.LoginIDVerifier().Verify(s.r.Context(), jwt, st.User, s.x.Attempt.IP); err != nil {
		s.x.Attempt.Assertion = "invalid"
		var le *loginid.Error
		if errors.As(err, &le) {
			s.x.Assertion = "invalid:" + le.Sub
			if le.OverShare() {
				// A valid token past its user's or its client network's
				// share of the replay cache: too many at once, which says
				// nothing about who holds the credential, so no refused
				// factor is counted.
				s.fail(le.Reason, pages.Answer{Code: pages.RateLimited, RetryAfter: le.RetryAfter})
				return
			}
			if le.Retryable() {
				// The key host is down or the replay cache full: nothing is
				// known about the token, so it is not a refused factor.
				s.fail(rules.ReasonEngineUnavailable, pages.Answer{Code: pages.Unavailable})
				return
			}
		}
		// assertion_invalid, or assertion_not_enrolled for a token of a
		// user without a LoginID record (require_enrolment): whoever
		// registered that credential, it is not known to be the user's.
		s.factorRefused(st, MethodLoginID)
		s.refuseJSON(loginid.ReasonOf(err))
		return
	}
	s.x.Attempt.Assertion = "valid"
	s.x.Assertion = "valid"
	if !s.passFactor(st, factorClaim{Method: MethodLoginID}) {
		return
	}
	s.x.Allow("loginid_ok")
	s.writeJSON(http.StatusOK, map[string]bool{"ok": true})
}

// readLoginIDJWT reads the page's {"jwt": …} (at most maxLoginIDBody,
// nothing else in it); a body that is not one is answered here, and ok
// is false.
func (s *stepUpCall) readLoginIDJWT() (jwt string, ok bool) {
	body, err := io.ReadAll(io.LimitReader(s.r.Body, maxLoginIDBody+1))
	var in struct {
		JWT string `json:"jwt"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err != nil || len(body) > maxLoginIDBody || dec.Decode(&in) != nil || in.JWT == "" {
		s.fail("loginid_malformed", pages.Answer{Code: pages.BadRequest})
		return "", false
	}
	return in.JWT, true
}
