package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/newest"
	"github.com/login-guard/login_guard/internal/redisstore"
)

// SmileIDConfig configures the Smile ID SmartSelfie factor (`methods
// selfie`). The API key stays on the server: the browser sends images to
// the guard, which signs and submits the job itself.
type SmileIDConfig struct {
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
	smileUserUsername = "username"
	// SmileUserAccountID: Smile ID knows the user by the route's account
	// id rather than the user name.
	SmileUserAccountID = "account_id"
)

// unmarshal reads
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
func (c *SmileIDConfig) unmarshal(d *caddyfile.Dispenser) error {
	if err := caddyopt.EachOption(d, "smileid", nil, func(key string) error {
		var err error
		switch key {
		case "partner_id":
			err = caddyopt.OneArg(d, &c.PartnerID)
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
				err = caddyopt.OneOf(d, c.UserID, smileUserUsername, SmileUserAccountID)
			}
		case "user_limit":
			c.UserLimit, c.UserLimitEvery, err = limitArgs(d)
		case "ip_limit":
			c.IPLimit, c.IPLimitEvery, err = limitArgs(d)
		case "limit_keys":
			c.LimitKeys, err = caddyopt.IntArg(d, 1, smileid.MaxLimitKeys)
		case "signature_window":
			err = caddyopt.DurationArg(d, &c.SignatureWindow)
		case "pending_ttl":
			err = caddyopt.DurationArg(d, &c.PendingTTL)
		case "max_pending":
			c.MaxPending, err = caddyopt.IntArg(d, 1, 10_000_000)
		case "timeout":
			err = caddyopt.DurationArg(d, &c.Timeout)
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
			err = caddyopt.OneArg(d, &c.TrustPEM)
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

// limitArgs reads `<count> <window>`; a count of 0 disables the rule.
func limitArgs(d *caddyfile.Dispenser) (int, caddy.Duration, error) {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return 0, 0, d.Err("smileid: a limit is <count> <window>, e.g. 5 1h")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || strings.Trim(args[0], "0123456789") != "" || n < 0 || n > smileid.MaxRateN {
		return 0, 0, d.Errf("smileid: %q must be a whole number from 0 to %d", args[0], smileid.MaxRateN)
	}
	w, err := caddy.ParseDuration(args[1])
	if err != nil || w <= 0 {
		return 0, 0, d.Errf("smileid: invalid window %q", args[1])
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
)

// provision fills in defaults and builds a client once, touching nothing,
// so a bad value fails at config load.
func (c *SmileIDConfig) provision() error {
	if c.UserID == "" {
		c.UserID = smileUserUsername
	}
	if c.UserID != smileUserUsername && c.UserID != SmileUserAccountID {
		return fmt.Errorf("smileid: user_id must be username or account_id")
	}
	if err := smileid.CheckServer(c.Server, c.BaseURL); err != nil {
		return err
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
	_, err := c.newClient(nil, nil, nil)
	return err
}

// newClient builds the client; limiter, observer and pending (the shared
// pending-jobs registry; nil: in this process) may be nil.
func (c *SmileIDConfig) newClient(lim smileid.Limiter, obs smileid.Observer, pending smileid.Pending) (*smileid.Client, error) {
	res := caddyopt.NewResolver()
	base, partnerID, apiKey := res.Value("base_url", c.BaseURL), res.Value("partner_id", c.PartnerID), res.Value("api_key", c.APIKey)
	callbackURL := res.Value("callback_url", c.CallbackURL)
	if res.Err != nil {
		return nil, fmt.Errorf("smileid: %w", res.Err)
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

// poolKey names the pooled client by a digest of its config, so configs
// that agree share pending jobs and counters across reloads, and the key
// string holds no secret.
func (c *SmileIDConfig) poolKey() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return "login_guard_smileid:" + hex.EncodeToString(sum[:])
}

// PooledSmileID is a Smile ID client shared by the configs that agree on
// it: its registry of pending jobs and its submission counters must
// survive a reload, or a callback arriving after it would find nothing.
type PooledSmileID struct {
	Client *smileid.Client
	logger atomic.Pointer[zap.Logger]
	// loggers are the holding configs': the newest one's logs.
	loggers newest.Values[*zap.Logger]

	// confirms spaces the page poll's own job-status calls (the fallback
	// for callbacks that cannot reach the guard).
	confirms smileid.Confirms

	// shares keeps each client to its share of submissions and pending
	// jobs; ttl is how long a job may stay pending.
	shares smileid.Shares
	ttl    time.Duration
}

// pendingTTL is how long a submitted job may wait for its result.
func (p *PooledSmileID) pendingTTL() time.Duration { return p.ttl }

// DueForConfirm reports whether the poll should ask Smile ID about a
// pending job now, and records that it will.
func (p *PooledSmileID) DueForConfirm(job string, registered, now time.Time) bool {
	return p.confirms.Due(job, registered, now)
}

// ForgetConfirm drops a finished job's entry.
func (p *PooledSmileID) ForgetConfirm(job string) { p.confirms.Forget(job) }

func (p *PooledSmileID) Destruct() error { return nil }

// Observe logs each exchange with Smile ID (never a key, an image or a URL:
// Report carries none).
func (p *PooledSmileID) Observe(r smileid.Report) {
	l := p.logger.Load()
	if l == nil {
		return
	}
	fields := []zap.Field{zap.String("op", string(r.Op)), zap.Int("status", r.Status), zap.Duration("duration", r.Duration), zap.String("state", string(r.State))}
	if r.Err != nil {
		l.Warn("smileid exchange failed", append(fields, zap.Error(r.Err))...)
		return
	}
	l.Debug("smileid exchange", fields...)
}

// takeSmileID loads (or makes) the pooled client for the app's config.
func (a *App) takeSmileID() (*PooledSmileID, string, error) {
	c := a.SmileID
	key := c.poolKey() + ":" + a.redisKey
	v, _, err := stepUpPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		p := &PooledSmileID{ttl: time.Duration(c.PendingTTL)}
		if p.ttl <= 0 {
			p.ttl = smileid.DefaultPendingTTL
		}
		userLimit := smileid.Rate{N: c.UserLimit, Window: time.Duration(c.UserLimitEvery)}
		ipLimit := smileid.Rate{N: c.IPLimit, Window: time.Duration(c.IPLimitEvery)}
		var lim smileid.Limiter = smileid.NewMemoryLimiter(userLimit, ipLimit, c.LimitKeys, nil)
		var pending smileid.Pending
		if a.redis != nil {
			// Shared: a job submitted through one instance is confirmed
			// and completed through any, and the paid-job limits count
			// every instance's submissions.
			lim = &smileid.CounterLimiter{Store: redisstore.NewCounter(a.redis), User: userLimit, IP: ipLimit}
			pending = redisstore.NewSmileIDJobs(a.redis, p.ttl)
		}
		cl, err := c.newClient(lim, p, pending)
		if err != nil {
			return nil, err
		}
		p.Client = cl
		return p, nil
	})
	if err != nil {
		return nil, "", err
	}
	p := v.(*PooledSmileID)
	p.loggers.Hold(a.stepRT, a.logger.Named("smileid"), p.logger.Store)
	return p, key, nil
}

// BeginSubmit admits a client's selfie submission within its shares
// (submissions in flight and jobs pending); it returns which share is
// full, or "" when admitted. An admitted call is paired with EndSubmit.
func (p *PooledSmileID) BeginSubmit(client string, maxInflight, maxPending int, now time.Time) (full string) {
	return p.shares.Begin(client, maxInflight, maxPending, p.pendingTTL(), now)
}

// EndSubmit ends a submission BeginSubmit admitted; job is the job it
// created ("" when none), which then counts as pending.
func (p *PooledSmileID) EndSubmit(client, job string, now time.Time) { p.shares.End(client, job, now) }

// JobDone ends a pending job's hold on its client's share.
func (p *PooledSmileID) JobDone(job string) { p.shares.Done(job) }
