package caddymodule

import (
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/rules"
)

// LoginIDConfig verifies LoginID DirectWeb FIDO2 JWTs at the edge. Claim
// names the seed does not spell out have defaults documented in
// clients/loginid as assumptions to check against LoginID's reference.
type LoginIDConfig struct {
	// Mode is pem (DirectWeb's certs endpoint, one PEM key per kid) or
	// jwks (the passkey service's JSON Web Key Set).
	Mode string `json:"mode"`
	// KeyURL is the certs endpoint (pem; the kid is added as ?kid=) or the
	// JWKS URL. Region fills it for pem: https://jwt.<region>.loginid.io/certs.
	KeyURL string `json:"key_url,omitempty"`
	Region string `json:"region,omitempty"`
	// ClientID is the expected audience.
	ClientID  string `json:"client_id"`
	Issuer    string `json:"issuer,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// MaxAge bounds a token's age from iat (default 2m); ClockSkew is the
	// tolerance on exp and iat (default 30s).
	MaxAge    caddy.Duration `json:"max_age,omitempty"`
	ClockSkew caddy.Duration `json:"clock_skew,omitempty"`
	// Claim names (defaults udata, type, nid, nonce) and the type values
	// that are proofs (default fido2_login) or registrations
	// (default fido2_register).
	UserClaim           string   `json:"user_claim,omitempty"`
	TypeClaim           string   `json:"type_claim,omitempty"`
	NamespaceClaim      string   `json:"namespace_claim,omitempty"`
	NonceClaim          string   `json:"nonce_claim,omitempty"`
	AuthenticationTypes []string `json:"authentication_types,omitempty"`
	RegistrationTypes   []string `json:"registration_types,omitempty"`
	// ReplayCacheSize bounds the seen-nonce cache (default 100000); when
	// full, new tokens are refused rather than replays risked.
	ReplayCacheSize int `json:"replay_cache_size,omitempty"`
	// TrustPEM names a PEM file of extra roots for the key host (a
	// private PKI, or tests).
	TrustPEM string `json:"trust_pem,omitempty"`
}

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
	// the guard could not check means (the key host is down or does not
	// know its key id, the replay cache is full). Default deny on a
	// route with `assertion required`, which must never accept a token it
	// could not verify; elsewhere the route's on_engine_failure.
	OnAssertionUnverifiable string `json:"on_assertion_unverifiable,omitempty"`

	onUnverifiable rules.Action
}

// reasonAssertionUnverifiable marks a token the guard could not check.
const reasonAssertionUnverifiable = "assertion_unverifiable"

// loginidPool keeps one replay cache per client id across reloads: a
// reload must not make a spent token usable again.
var loginidPool = caddy.NewUsagePool()

type replayCache struct{ *loginid.MemoryReplayCache }

func (replayCache) Destruct() error { return nil }

func (c *LoginIDConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := eachOption(d, "loginid", nil, func(key string) error {
		var err error
		switch key {
		case "mode":
			if err = oneArg(d, &c.Mode); err == nil {
				err = oneOf(d, c.Mode, loginid.ModePEM, loginid.ModeJWKS)
			}
		case "key_url":
			err = oneArg(d, &c.KeyURL)
		case "region":
			err = oneArg(d, &c.Region)
		case "client_id":
			err = oneArg(d, &c.ClientID)
		case "issuer":
			err = oneArg(d, &c.Issuer)
		case "namespace":
			err = oneArg(d, &c.Namespace)
		case "max_age":
			err = durationArg(d, &c.MaxAge)
		case "clock_skew":
			err = durationArg(d, &c.ClockSkew)
		case "user_claim":
			err = oneArg(d, &c.UserClaim)
		case "type_claim":
			err = oneArg(d, &c.TypeClaim)
		case "namespace_claim":
			err = oneArg(d, &c.NamespaceClaim)
		case "nonce_claim":
			err = oneArg(d, &c.NonceClaim)
		case "authentication_types":
			if c.AuthenticationTypes = d.RemainingArgs(); len(c.AuthenticationTypes) == 0 {
				err = d.ArgErr()
			}
		case "registration_types":
			if c.RegistrationTypes = d.RemainingArgs(); len(c.RegistrationTypes) == 0 {
				err = d.ArgErr()
			}
		case "replay_cache_size":
			c.ReplayCacheSize, err = intArg(d, 1, 10_000_000)
		case "trust_pem":
			err = oneArg(d, &c.TrustPEM)
		default:
			return d.Errf("loginid: unknown option %q", key)
		}
		return err
	}); err != nil {
		return err
	}
	if c.Mode == "" || c.ClientID == "" {
		return d.Err("loginid: mode and client_id are required")
	}
	if c.KeyURL == "" && (c.Mode != loginid.ModePEM || c.Region == "") {
		return d.Err("loginid: key_url is required (or region, with mode pem)")
	}
	return nil
}

// newVerifier builds the verifier; it contacts no key host until a token
// arrives.
func (c *LoginIDConfig) newVerifier(logger *zap.Logger, shared *redisstore.Conn) (*loginid.Verifier, string, error) {
	repl := caddy.NewReplacer()
	keyURL := repl.ReplaceKnown(c.KeyURL, "")
	if keyURL == "" {
		var err error
		if keyURL, err = loginid.DirectWebCertsURL(repl.ReplaceKnown(c.Region, "")); err != nil {
			return nil, "", fmt.Errorf("loginid: %v", err)
		}
	}
	clientID := repl.ReplaceKnown(c.ClientID, "")
	size := c.ReplayCacheSize
	if size == 0 {
		size = 100_000
	}
	var replay loginid.ReplayCache
	poolKey := ""
	if shared != nil {
		// Shared store: a token used on any instance is a replay on all.
		replay = redisReplayCache{redisstore.NewOnceSet(shared, "loginid:"+clientID)}
	} else {
		poolKey = fmt.Sprintf("login_guard.loginid.%s.%d", clientID, size)
		v, _, _ := loginidPool.LoadOrNew(poolKey, func() (caddy.Destructor, error) {
			return replayCache{loginid.NewMemoryReplayCache(size)}, nil
		})
		replay = v.(replayCache).MemoryReplayCache
	}
	cfg := loginid.Config{
		Mode: c.Mode, KeyURL: keyURL, ClientID: clientID,
		Issuer: repl.ReplaceKnown(c.Issuer, ""), Namespace: repl.ReplaceKnown(c.Namespace, ""),
		MaxAge: time.Duration(c.MaxAge), ClockSkew: time.Duration(c.ClockSkew),
		UserClaim: c.UserClaim, TypeClaim: c.TypeClaim, NamespaceClaim: c.NamespaceClaim, NonceClaim: c.NonceClaim,
		AuthenticationTypes: c.AuthenticationTypes, RegistrationTypes: c.RegistrationTypes,
		ReplayCache: replay,
		Observer: loginid.ObserverFunc(func(r loginid.FetchReport) {
			logger.Debug("loginid key fetch", zap.String("outcome", string(r.Outcome)), zap.Int("status", r.Status), zap.Duration("duration", r.Duration))
		}),
	}
	if c.TrustPEM != "" {
		hc, err := clientTrusting(c.TrustPEM, 5*time.Second)
		if err != nil {
			return nil, poolKey, fmt.Errorf("loginid: %v", err)
		}
		cfg.HTTPClient = hc
	}
	ver, err := loginid.New(cfg)
	return ver, poolKey, err
}

func (h *Handler) unmarshalLoginIDDirective(d *caddyfile.Dispenser, key string) (bool, error) {
	o := &h.LoginIDOptions
	var err error
	switch key {
	case "assertion":
		if err = oneArg(d, &o.Assertion); err == nil {
			err = oneOf(d, o.Assertion, "off", "optional", "required", "passwordless")
		}
	case "assertion_field":
		err = oneArg(d, &o.AssertionField)
	case "assertion_header":
		err = oneArg(d, &o.AssertionHeader)
	case "on_assertion_unverifiable":
		if err = oneArg(d, &o.OnAssertionUnverifiable); err == nil {
			err = oneOf(d, o.OnAssertionUnverifiable, "deny", "allow", "challenge")
		}
	default:
		return false, nil
	}
	return true, err
}

func (h *Handler) provisionLoginID() error {
	o := &h.LoginIDOptions
	if o.Assertion == "" {
		o.Assertion = "off"
	}
	if o.Assertion == "off" {
		if o.OnAssertionUnverifiable != "" {
			return fmt.Errorf("route %q: on_assertion_unverifiable needs assertion optional, required or passwordless", h.Name)
		}
		return nil
	}
	switch {
	case o.OnAssertionUnverifiable != "":
		a, err := rules.ParseAction(o.OnAssertionUnverifiable)
		if err != nil {
			return fmt.Errorf("route %q: on_assertion_unverifiable: %v", h.Name, err)
		}
		o.onUnverifiable = a
	case o.Assertion == "required":
		o.onUnverifiable = rules.Deny
	default:
		o.onUnverifiable = h.onFailure
	}
	if h.app.loginid == nil {
		return fmt.Errorf("route %q: assertion %s needs a loginid block in the global login_guard options", h.Name, o.Assertion)
	}
	if o.AssertionField == "" {
		o.AssertionField = "loginid_jwt"
	}
	if o.AssertionHeader == "" {
		// The parser refuses a token given twice, like the user field.
		h.spec.UniqueFields = append(h.spec.UniqueFields, o.AssertionField)
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
		token = x.attempt.Header.Get(o.AssertionHeader)
	} else {
		token, _ = x.fields.Get(o.AssertionField)
	}
	if token == "" {
		if o.Assertion == "required" {
			x.verdict.Add(rules.Deny, "assertion_missing")
		}
		return false
	}
	_, err := x.h.app.loginid.Verify(x.ctx, token, x.attempt.User)
	if err == nil {
		x.attempt.Assertion = "valid"
		x.assertion = "valid"
		if o.Assertion == "passwordless" {
			x.verdict.Add(rules.Allow, "assertion_valid")
			return true
		}
		return false
	}
	x.attempt.Assertion = "invalid"
	var le *loginid.Error
	if errors.As(err, &le) {
		x.assertion = "invalid:" + le.Sub
		if le.Retryable() {
			// The key host is down, does not know the key id, or the
			// replay cache is full: that says nothing about the token, so
			// on_assertion_unverifiable decides (deny on required routes).
			x.verdict.Add(o.onUnverifiable, reasonAssertionUnverifiable)
			return false
		}
	}
	x.verdict.Add(rules.Deny, rules.ReasonAssertionInvalid)
	return false
}

// Cleanup gives back what the config holds. Caddy calls it once every app
// of the config has stopped, and also when Provision failed half way, so
// it only touches what exists. A started config lets its in-flight
// requests finish first (see releaseWhenIdle).
func (a *App) Cleanup() error {
	if a.rt != nil && a.rt.life.isStarted() {
		a.releaseWhenIdle()
		return nil
	}
	a.stopLoginID()
	a.releaseStore()
	a.releaseMetrics()
	return nil
}

var _ caddy.CleanerUpper = (*App)(nil)

func (a *App) stopLoginID() {
	if a.loginid != nil {
		a.loginid.Close()
		a.loginid = nil
		if a.loginidPoolKey != "" {
			_, _ = loginidPool.Delete(a.loginidPoolKey)
		}
	}
}
