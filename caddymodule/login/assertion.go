package login

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

// LoginIDOptions are a route's assertion settings.
type LoginIDOptions struct {
	// Assertion is off (default), optional, required or passwordless: with
	// optional a valid token is a signal (CEL `assertion == "valid"`) and
	// an invalid one denies with assertion_invalid; required also denies
	// a request without one; passwordless lets a valid token allow the
	// request on its own, skipping rules and engines.
	Assertion string `json:"assertion,omitempty"`
	// AssertionField is the body field carrying the JWT (default
	// loginid_jwt); AssertionHeader, when set, is read instead.
	AssertionField  string `json:"assertion_field,omitempty"`
	AssertionHeader string `json:"assertion_header,omitempty"`
	// OnAssertionUnverifiable is deny, allow or challenge: what a token
	// the guard could not check means (the key host is down and the key is
	// not cached, the replay cache is full, the guard is stopping). A key
	// id the key host does not know is a forged token, denied as invalid,
	// not unverifiable. Default deny on a
	// route with `assertion required`, which must never accept a token it
	// could not verify; elsewhere the route's on_engine_failure.
	OnAssertionUnverifiable string `json:"on_assertion_unverifiable,omitempty"`

	onUnverifiable rules.Action
}

// reasonAssertionUnverifiable marks a token the guard could not check.
const reasonAssertionUnverifiable = "assertion_unverifiable"

// unmarshal reads the route's assertion subdirectives:
//
//	assertion                 off|optional|required|passwordless
//	assertion_field           <body field>
//	assertion_header          <header>
//	on_assertion_unverifiable deny|allow|challenge
func (o *LoginIDOptions) unmarshal(d *caddyfile.Dispenser, key string) (bool, error) {
	var err error
	switch key {
	case "assertion":
		err = caddyopt.OneOfArg(d, &o.Assertion, "off", "optional", "required", "passwordless")
	case "assertion_field":
		err = caddyopt.NonEmptyArg(d, &o.AssertionField)
	case "assertion_header":
		err = caddyopt.NonEmptyArg(d, &o.AssertionHeader)
	case "on_assertion_unverifiable":
		err = caddyopt.OneOfArg(d, &o.OnAssertionUnverifiable, "deny", "allow", "challenge")
	default:
		return false, nil
	}
	return true, err
}

// provision sets the defaults and checks that the app can verify
// tokens; route names the route in errors, and engineFailure is the
// route's on_engine_failure, what an unverifiable token means unless
// said otherwise. The verifier and its replay cache are the app's: the
// group holds nothing to give back.
func (o *LoginIDOptions) provision(a *app.App, route string, engineFailure rules.Action) error {
	if o.Assertion == "" {
		o.Assertion = "off"
	}
	if !o.checksTokens() {
		return nil // off, or a value validate refuses
	}
	switch {
	case o.OnAssertionUnverifiable != "":
		act, err := rules.ParseAction(o.OnAssertionUnverifiable)
		if err != nil {
			return fmt.Errorf("route %q: on_assertion_unverifiable: %v", route, err)
		}
		o.onUnverifiable = act
	case o.Assertion == "required":
		o.onUnverifiable = rules.Deny
	default:
		o.onUnverifiable = engineFailure
	}
	if a.LoginIDVerifier() == nil {
		return fmt.Errorf("route %q: assertion %s needs a loginid block in the global login_guard options", route, o.Assertion)
	}
	if o.AssertionField == "" {
		o.AssertionField = "loginid_jwt"
	}
	return nil
}

// uniqueFields are the body fields the route's parser must refuse when
// given twice: the token's, like the user's, when it comes in the body.
func (o *LoginIDOptions) uniqueFields() []string {
	if !o.checksTokens() || o.AssertionHeader != "" {
		return nil
	}
	return []string{o.AssertionField}
}

// takesEngineFailure reports whether an unverifiable token means the
// route's on_engine_failure (provision).
func (o *LoginIDOptions) takesEngineFailure() bool {
	return (o.Assertion == "optional" || o.Assertion == "passwordless") && o.OnAssertionUnverifiable == ""
}

// checksTokens reports whether the route checks tokens at all.
func (o *LoginIDOptions) checksTokens() bool {
	switch o.Assertion {
	case "optional", "required", "passwordless":
		return true
	}
	return false
}

// validate checks the options' values (a JSON config skips the
// Caddyfile's checks). It needs no app, so the Caddyfile parser runs it
// too.
func (o *LoginIDOptions) validate() error {
	switch o.Assertion {
	case "", "off":
		if o.OnAssertionUnverifiable != "" {
			return refuseOption("on_assertion_unverifiable", "on_assertion_unverifiable needs assertion optional, required or passwordless")
		}
	case "optional", "required", "passwordless":
	default:
		return refuseOption("assertion", "assertion must be off, optional, required or passwordless, not %q", o.Assertion)
	}
	return nil
}

// checkAssertion verifies a LoginID token on the request. It returns true
// when a valid token on a passwordless route settles the request.
func (x *exchange) checkAssertion() bool {
	o := &x.h.LoginIDOptions
	if o.Assertion == "off" || o.Assertion == "" {
		return false
	}
	var token string
	if o.AssertionHeader != "" {
		token = x.Attempt.Header.Get(o.AssertionHeader)
	} else {
		token, _ = x.Fields.Get(o.AssertionField)
	}
	if token == "" {
		if o.Assertion == "required" {
			x.Verdict.Add(rules.Deny, "assertion_missing")
		}
		return false
	}
	// The token must be the user's the portal acts for (see factorUser).
	user, refusal := x.factorUser()
	if refusal != "" {
		x.Attempt.Assertion, x.Assertion = "invalid", "invalid:"+refusal
		x.Verdict.Add(rules.Deny, "assertion_"+refusal)
		return false
	}
	_, err := x.h.app.LoginIDVerifier().Verify(x.Ctx, token, user, x.Attempt.IP)
	if err == nil {
		x.Attempt.Assertion = "valid"
		x.Assertion = "valid"
		if o.Assertion == "passwordless" {
			x.Verdict.Add(rules.Allow, "assertion_valid")
			return true
		}
		return false
	}
	x.Attempt.Assertion = "invalid"
	var le *loginid.Error
	if errors.As(err, &le) {
		x.Assertion = "invalid:" + le.Sub
		if le.Retryable() {
			// The key host is down, the replay cache is full or the guard
			// is stopping: that says nothing about the token, so
			// on_assertion_unverifiable decides (deny on required routes).
			x.Verdict.Add(o.onUnverifiable, reasonAssertionUnverifiable)
			return false
		}
	}
	// assertion_invalid, or assertion_replay_user_limit (_client_limit)
	// for a user (a client network) past its share of the replay cache.
	x.Verdict.Add(rules.Deny, loginid.ReasonOf(err))
	return false
}
