package app

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/redisstore"
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
	// MaxAge bounds a token's age from iat (default 2m, at most 10m);
	// ClockSkew is the tolerance on exp and iat (default 30s, at most 5m).
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
	// ReplayCachePerUser bounds the entries one user's tokens (the user
	// name as signed) hold in it (default 32), so one account cannot
	// fill it for everyone: past it that user's tokens are refused
	// (assertion_replay_user_limit).
	ReplayCachePerUser int `json:"replay_cache_per_user,omitempty"`
	// ReplayCachePerClient bounds the entries the tokens sent from one
	// client network (IPv4 /24, IPv6 /48) hold in it, whatever their
	// users (default 256): past it that network's tokens are refused
	// (assertion_replay_client_limit).
	ReplayCachePerClient int `json:"replay_cache_per_client,omitempty"`
	// TrustPEM names a PEM file of extra roots for the key host (a
	// private PKI, or tests).
	TrustPEM string `json:"trust_pem,omitempty"`
	// FetchTimeout bounds one key host request, and so the wait of a
	// login whose key is not cached yet (default 5s; see
	// loginid.CheckFetchTimeout).
	FetchTimeout caddy.Duration `json:"fetch_timeout,omitempty"`
	// RequireEnrolment accepts a token (step-up factor, login route
	// assertion) only for a user whose LoginID registration the guard
	// recorded under its enrolment rules, or the admin API imported
	// (internal/passkeys, loginid.go). Needs the passkeys block.
	RequireEnrolment bool `json:"require_enrolment,omitempty"`
}

func (c *LoginIDConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "loginid", nil, func(key string) error {
		var err error
		switch key {
		case "mode":
			if err = caddyopt.OneArg(d, &c.Mode); err == nil {
				err = caddyopt.OneOf(d, c.Mode, loginid.ModePEM, loginid.ModeJWKS)
			}
		case "key_url":
			err = caddyopt.CheckedArg(d, &c.KeyURL, loginid.CheckKeyURL)
		case "region":
			err = caddyopt.NonEmptyArg(d, &c.Region)
		case "client_id":
			err = caddyopt.NonEmptyArg(d, &c.ClientID)
		case "issuer":
			err = caddyopt.NonEmptyArg(d, &c.Issuer)
		case "namespace":
			err = caddyopt.NonEmptyArg(d, &c.Namespace)
		case "max_age":
			err = caddyopt.DurationArg(d, &c.MaxAge, loginid.MaxTokenAge)
		case "clock_skew":
			err = caddyopt.DurationArg(d, &c.ClockSkew, loginid.MaxClockSkew)
		case "user_claim":
			err = caddyopt.NonEmptyArg(d, &c.UserClaim)
		case "type_claim":
			err = caddyopt.NonEmptyArg(d, &c.TypeClaim)
		case "namespace_claim":
			err = caddyopt.NonEmptyArg(d, &c.NamespaceClaim)
		case "nonce_claim":
			err = caddyopt.NonEmptyArg(d, &c.NonceClaim)
		case "authentication_types":
			err = caddyopt.ListArgs(d, &c.AuthenticationTypes)
		case "registration_types":
			err = caddyopt.ListArgs(d, &c.RegistrationTypes)
		case "replay_cache_size", "replay_cache_per_user", "replay_cache_per_client":
			// The cache's bound and its two shares take the same range.
			bound := map[string]*int{"replay_cache_size": &c.ReplayCacheSize, "replay_cache_per_user": &c.ReplayCachePerUser, "replay_cache_per_client": &c.ReplayCachePerClient}[key]
			*bound, err = caddyopt.IntArg(d, 1, loginid.MaxReplayCacheSize)
		case "trust_pem":
			err = caddyopt.NonEmptyArg(d, &c.TrustPEM)
		case "fetch_timeout":
			err = caddyopt.BoundedDurationArg(d, &c.FetchTimeout, loginid.MinFetchTimeout, loginid.MaxFetchTimeout)
		case "require_enrolment":
			c.RequireEnrolment, err = true, caddyopt.NoArgs(d)
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
	if err := loginid.CheckKeySource(c.Mode, c.KeyURL, c.Region); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// newLoginIDVerifier builds the verifier of the loginid block; it
// contacts no key host until a token arrives.
func (a *App) newLoginIDVerifier() (*loginid.Verifier, *savedpool.UsedAssertions, error) {
	c, logger, shared := a.LoginID, a.logger.Named("loginid"), a.redis
	res := caddyopt.NewResolver()
	keyURL, region := res.Value("key_url", c.KeyURL), res.Value("region", c.Region)
	clientID := res.Value("client_id", c.ClientID)
	issuer, namespace := res.Value("issuer", c.Issuer), res.Value("namespace", c.Namespace)
	if res.Err != nil {
		// An unset issuer or namespace must not switch its check off.
		return nil, nil, fmt.Errorf("loginid: %w", res.Err)
	}
	keyURL, err := loginid.KeySource(c.Mode, keyURL, region)
	if err != nil {
		return nil, nil, fmt.Errorf("loginid: %v", err)
	}
	if err := loginid.CheckReplayCacheSize(c.ReplayCacheSize); err != nil {
		return nil, nil, err
	}
	fetchTimeout := time.Duration(c.FetchTimeout)
	if err := loginid.CheckFetchTimeout(fetchTimeout); err != nil {
		return nil, nil, err
	}
	size := cmp.Or(c.ReplayCacheSize, loginid.DefaultReplayCacheSize)
	var replay loginid.ReplayCache
	var used *savedpool.UsedAssertions
	if shared != nil {
		// Shared store: a token used on any instance is a replay on all.
		replay = redisstore.LoginIDReplayCache{Set: redisstore.NewOnceSet(shared, "loginid:"+clientID)}
	} else {
		used = savedpool.NewUsedAssertions(size)
		replay = used
	}
	cfg := loginid.Config{
		Mode: c.Mode, KeyURL: keyURL, ClientID: clientID,
		Issuer: issuer, Namespace: namespace,
		MaxAge: time.Duration(c.MaxAge), ClockSkew: time.Duration(c.ClockSkew),
		UserClaim: c.UserClaim, TypeClaim: c.TypeClaim, NamespaceClaim: c.NamespaceClaim, NonceClaim: c.NonceClaim,
		AuthenticationTypes: c.AuthenticationTypes, RegistrationTypes: c.RegistrationTypes,
		ReplayCache: replay, ReplayPerUser: c.ReplayCachePerUser, ReplayPerClient: c.ReplayCachePerClient,
		FetchTimeout: fetchTimeout,
		Observer: loginid.ObserverFunc(func(r loginid.FetchReport) {
			logger.Debug("loginid key fetch", zap.String("outcome", string(r.Outcome)), zap.Int("status", r.Status), zap.Duration("duration", r.Duration))
		}),
	}
	if c.RequireEnrolment {
		if a.Passkeys == nil {
			return nil, nil, fmt.Errorf("loginid: require_enrolment keeps its records beside the passkeys: it needs a `passkeys { rp_id …; rp_origin … }` block")
		}
		cfg.Enrolled = a.loginIDEnrolled
	}
	if c.TrustPEM != "" {
		// The fetch's own deadline is fetch_timeout (0: the default);
		// the client's must not be shorter.
		hc, err := engine.NewHTTPClientTrusting(c.TrustPEM, max(fetchTimeout, loginid.DefaultFetchTimeout))
		if err != nil {
			return nil, nil, fmt.Errorf("loginid: trust_pem: %v", err)
		}
		cfg.HTTPClient = hc
	}
	ver, err := loginid.New(cfg)
	return ver, used, err
}

// loginIDEnrolled says whether user's LoginID registration was recorded
// (require_enrolment), in the relying party's storage, once started.
func (a *App) loginIDEnrolled(ctx context.Context, user string) (bool, error) {
	rt, err := a.StepUpRuntime()
	if err != nil {
		return false, err
	}
	return rt.Passkeys.LoginIDEnrolled(ctx, user)
}

// stopLoginID closes the verifier and gives back the tokens already
// used. The pointers stay: a request the release outlived (see
// releaseWhenIdle) gets "closed" from the verifier, not a nil one.
func (a *App) stopLoginID() {
	if a.loginid != nil {
		a.loginid.Close()
	}
	if a.loginidUsedHold != nil {
		a.loginidUsedHold.Release()
		a.loginidUsedHold = nil
	}
}
