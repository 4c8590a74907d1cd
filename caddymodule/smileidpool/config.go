// Package smileidpool holds the Smile ID settings of the login_guard
// global block (the `smileid` options, the app's `smileid` JSON) and the
// pooled client they make, shared across reloads by the configs that
// agree on it. The app takes and gives back the pooled client; the
// Caddy-free client itself is clients/smileid.
package smileidpool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/internal/caddyopt"
)

// Config configures the Smile ID SmartSelfie factor (`methods
// selfie`). The API key stays on the server: the browser sends images to
// the guard, which signs and submits the job itself.
type Config struct {
	// PartnerID and APIKey come from Smile ID's portal. Give the key as
	// {env.SMILEID_API_KEY}: a {$VAR} is substituted when the Caddyfile is
	// read and would land in the adapted JSON and in autosave.json.
	PartnerID string `json:"partner_id"`
	APIKey    string `json:"api_key"`
	// CallbackURL is the guard's callback endpoint as Smile ID reaches it:
	// https://<site>/<step-up base>/smileid/callback.
	CallbackURL string `json:"callback_url"`
	// Server is sandbox (default) or production; BaseURL overrides it.
	Server  string `json:"server,omitempty"`
	BaseURL string `json:"base_url,omitempty"`
	// UserID says what Smile ID's user_id is: the user name the state
	// carries (username, default) or the route's account id (account_id),
	// whichever the user was enrolled under.
	UserID string `json:"user_id,omitempty"`
	// UserLimit and IPLimit bound paid submissions: count per window
	// (defaults 5 per hour per user, 20 per hour per IP or IPv6 /64).
	UserLimit      int            `json:"user_limit,omitempty"`
	UserLimitEvery caddy.Duration `json:"user_limit_window,omitempty"`
	IPLimit        int            `json:"ip_limit,omitempty"`
	IPLimitEvery   caddy.Duration `json:"ip_limit_window,omitempty"`
	// LimitKeys bounds the limiter's table (default 100000).
	LimitKeys int `json:"limit_keys,omitempty"`
	// SignatureWindow, PendingTTL, MaxPending, Timeout: see clients/smileid
	// (defaults 5m, 15m, 10000, 10s).
	SignatureWindow caddy.Duration `json:"signature_window,omitempty"`
	PendingTTL      caddy.Duration `json:"pending_ttl,omitempty"`
	MaxPending      int            `json:"max_pending,omitempty"`
	Timeout         caddy.Duration `json:"timeout,omitempty"`
	// LivenessOptional accepts a selfie without liveness frames.
	LivenessOptional bool `json:"liveness_optional,omitempty"`
	// AuthenticatedCodes and PendingCodes replace the result-code tables
	// (defaults 1220 and 0824).
	AuthenticatedCodes []string `json:"authenticated_codes,omitempty"`
	PendingCodes       []string `json:"pending_codes,omitempty"`
	// TrustPEM names a PEM file of extra roots for Smile ID's host (tests,
	// a private proxy).
	TrustPEM string `json:"trust_pem,omitempty"`
}

// Smile ID user id sources.
const (
	userUsername = "username"
	// UserAccountID: Smile ID knows the user by the route's account id
	// rather than the user name.
	UserAccountID = "account_id"
)

// Unmarshal reads the block below, the dispenser on its `smileid` key:
//
//	smileid {
//		partner_id         <id>
//		api_key            <key>
//		callback_url       https://…/verify/smileid/callback
//		server             sandbox|production
//		base_url           <https URL>
//		user_id            username|account_id
//		user_limit         <n> <window>
//		ip_limit           <n> <window>
//		limit_keys         <n>
//		signature_window   <duration>
//		pending_ttl        <duration>
//		max_pending        <n>
//		timeout            <duration>
//		liveness_optional
//		authenticated_codes <code...>
//		pending_codes      <code...>
//		trust_pem          <file>
//	}
func (c *Config) Unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "smileid", nil, func(key string) error {
		var err error
		switch key {
		case "partner_id":
			err = caddyopt.NonEmptyArg(d, &c.PartnerID)
		case "api_key":
			if !d.NextArg() {
				return d.Errf("smileid: api_key has no value (if it comes from {$VAR}, that variable is not set)")
			}
			c.APIKey = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		case "callback_url":
			if err = caddyopt.OneArg(d, &c.CallbackURL); err == nil {
				err = checkHTTPSURL(d, "callback_url", c.CallbackURL)
			}
			if err == nil {
				if cerr := checkCallbackPath(c.CallbackURL); cerr != nil {
					err = d.Err(cerr.Error())
				}
			}
		case "server":
			if err = caddyopt.OneArg(d, &c.Server); err == nil {
				err = caddyopt.OneOf(d, c.Server, "sandbox", "production")
			}
		case "base_url":
			if err = caddyopt.OneArg(d, &c.BaseURL); err == nil {
				err = checkHTTPSURL(d, "base_url", c.BaseURL)
			}
		case "user_id":
			if err = caddyopt.OneArg(d, &c.UserID); err == nil {
				err = caddyopt.OneOf(d, c.UserID, userUsername, UserAccountID)
			}
		case "user_limit":
			c.UserLimit, c.UserLimitEvery, err = limitArgs(d)
		case "ip_limit":
			c.IPLimit, c.IPLimitEvery, err = limitArgs(d)
		case "limit_keys":
			c.LimitKeys, err = caddyopt.IntArg(d, 1, smileid.MaxLimitKeys)
		case "signature_window":
			err = caddyopt.DurationArg(d, &c.SignatureWindow, smileid.MaxSignatureWindow)
		case "pending_ttl":
			err = caddyopt.DurationArg(d, &c.PendingTTL, smileid.MaxPendingTTL)
		case "max_pending":
			c.MaxPending, err = caddyopt.IntArg(d, 1, maxSelfiePending)
		case "timeout":
			err = caddyopt.DurationArg(d, &c.Timeout, smileid.MaxTimeout)
		case "liveness_optional":
			if d.NextArg() {
				return d.ArgErr()
			}
			c.LivenessOptional = true
		case "authenticated_codes":
			c.AuthenticatedCodes, err = codeArgs(d)
		case "pending_codes":
			c.PendingCodes, err = codeArgs(d)
		case "trust_pem":
			err = caddyopt.NonEmptyArg(d, &c.TrustPEM)
		default:
			return d.Errf("smileid: unknown option %q", key)
		}
		return err
	}); err != nil {
		return err
	}
	if c.PartnerID == "" || c.APIKey == "" || c.CallbackURL == "" {
		return d.Err("smileid: partner_id, api_key and callback_url are required")
	}
	if err := smileid.CheckServer(c.Server, c.BaseURL); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

func checkHTTPSURL(d *caddyfile.Dispenser, name, v string) error {
	if err := smileid.CheckHTTPSURL(name, v); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// checkCallbackPath: the step-up route answers Smile ID's callbacks at
// <its path>/smileid/callback only; a callback_url elsewhere would send
// every callback to the portal (or nowhere), and a selfie would wait for
// the page's polling alone.
func checkCallbackPath(v string) error {
	if u, err := url.Parse(v); err == nil && !strings.HasSuffix(u.Path, "/smileid/callback") {
		return fmt.Errorf("smileid: callback_url %q must end with /smileid/callback under the step-up route's path (like https://example.com/verify/smileid/callback)", v)
	}
	return nil
}

// limitArgs reads `<count> <window>`; a count of 0 disables the rule.
func limitArgs(d *caddyfile.Dispenser) (int, caddy.Duration, error) {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) != 2 {
		return 0, 0, d.Err("smileid: a limit is <count> <window>, e.g. 5 1h")
	}
	n, ok := caddyopt.WholeNumber(args[0], 0, smileid.MaxRateN)
	if !ok {
		return 0, 0, d.Errf("smileid: %q must be a whole number from 0 to %d", args[0], smileid.MaxRateN)
	}
	w, err := caddy.ParseDuration(args[1])
	if err != nil || w <= 0 || w > smileid.MaxRateWindow {
		return 0, 0, d.Errf("smileid: %s: window %q must be a positive duration of at most %v (e.g. 1h, 24h)", option, args[1], smileid.MaxRateWindow)
	}
	return n, caddy.Duration(w), nil
}

func codeArgs(d *caddyfile.Dispenser) ([]string, error) {
	codes := d.RemainingArgs()
	if len(codes) == 0 {
		return nil, d.ArgErr()
	}
	if err := smileid.CheckResultCodes(codes); err != nil {
		return nil, d.Err(err.Error())
	}
	return codes, nil
}

// Defaults of the paid-job limits.
const (
	defaultSelfieUserLimit = 5
	defaultSelfieIPLimit   = 20
	defaultSelfieWindow    = time.Hour
	defaultSelfieLimitKeys = 100_000
	// maxSelfiePending bounds max_pending, in a Caddyfile and in JSON.
	maxSelfiePending = 10_000_000
)

// Provision fills in defaults and builds a client once, touching nothing,
// so a bad value fails at config load.
func (c *Config) Provision() error {
	if c.UserID == "" {
		c.UserID = userUsername
	}
	if c.UserID != userUsername && c.UserID != UserAccountID {
		return fmt.Errorf("smileid: user_id must be username or account_id")
	}
	if err := smileid.CheckServer(c.Server, c.BaseURL); err != nil {
		return err
	}
	for _, o := range []struct {
		option  string
		v       caddy.Duration
		longest time.Duration
	}{
		{"signature_window", c.SignatureWindow, smileid.MaxSignatureWindow},
		{"pending_ttl", c.PendingTTL, smileid.MaxPendingTTL},
		{"timeout", c.Timeout, smileid.MaxTimeout},
	} {
		if err := caddyopt.CheckDuration(o.option, o.v, o.longest); err != nil {
			return fmt.Errorf("smileid: %w", err)
		}
	}
	user := smileid.Rate{N: c.UserLimit, Window: time.Duration(c.UserLimitEvery)}
	if err := smileid.CheckLimits(user, smileid.Rate{N: c.IPLimit, Window: time.Duration(c.IPLimitEvery)}, c.LimitKeys); err != nil {
		return err
	}
	if c.UserLimitEvery == 0 {
		c.UserLimit, c.UserLimitEvery = defaultSelfieUserLimit, caddy.Duration(defaultSelfieWindow)
	}
	if c.IPLimitEvery == 0 {
		c.IPLimit, c.IPLimitEvery = defaultSelfieIPLimit, caddy.Duration(defaultSelfieWindow)
	}
	if c.LimitKeys == 0 {
		c.LimitKeys = defaultSelfieLimitKeys
	}
	if c.MaxPending < 0 || c.MaxPending > maxSelfiePending {
		return fmt.Errorf("smileid: max_pending must be from 1 to %d, not %d", maxSelfiePending, c.MaxPending)
	}
	_, err := c.newClient(nil, nil, nil)
	return err
}

// newClient builds the client; limiter, observer and pending (the shared
// pending-jobs registry; nil: in this process) may be nil.
func (c *Config) newClient(lim smileid.Limiter, obs smileid.Observer, pending smileid.Pending) (*smileid.Client, error) {
	res := caddyopt.NewResolver()
	base, partnerID, apiKey := res.Value("base_url", c.BaseURL), res.Value("partner_id", c.PartnerID), res.Value("api_key", c.APIKey)
	callbackURL := res.Value("callback_url", c.CallbackURL)
	if res.Err != nil {
		return nil, fmt.Errorf("smileid: %w", res.Err)
	}
	if err := checkCallbackPath(callbackURL); err != nil {
		return nil, err
	}
	if base == "" && c.Server == "production" {
		base = smileid.ProductionBaseURL
	}
	cfg := smileid.Config{
		PartnerID:          partnerID,
		APIKey:             apiKey,
		BaseURL:            base,
		CallbackURL:        callbackURL,
		SignatureWindow:    time.Duration(c.SignatureWindow),
		PendingTTL:         time.Duration(c.PendingTTL),
		MaxPending:         c.MaxPending,
		Timeout:            time.Duration(c.Timeout),
		LivenessOptional:   c.LivenessOptional,
		AuthenticatedCodes: c.AuthenticatedCodes,
		PendingCodes:       c.PendingCodes,
		Limiter:            lim,
		Observer:           obs,
		Pending:            pending,
	}
	if c.TrustPEM != "" {
		hc, err := engine.NewHTTPClientTrusting(c.TrustPEM, 0)
		if err != nil {
			return nil, fmt.Errorf("smileid: trust_pem: %v", err)
		}
		cfg.HTTPClient = hc
	}
	cl, err := smileid.New(cfg)
	if err != nil {
		// smileid's errors name the field, never the key.
		return nil, fmt.Errorf("smileid: %w", err)
	}
	return cl, nil
}

// PoolKey names the pooled client by a digest of its config, so configs
// that agree share pending jobs and counters across reloads, and the key
// string holds no secret.
func (c *Config) PoolKey() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return "login_guard_smileid:" + hex.EncodeToString(sum[:])
}
