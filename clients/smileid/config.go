package smileid

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Base URLs of Smile ID's v1 API, the Node SDK's sid_server 0 and 1.
const (
	SandboxBaseURL    = "https://testapi.smileidentity.com"
	ProductionBaseURL = "https://api.smileidentity.com"
)

// ServerBaseURL maps the SDKs' sid_server number to a base URL.
func ServerBaseURL(sidServer int) (string, error) {
	switch sidServer {
	case 0:
		return SandboxBaseURL, nil
	case 1:
		return ProductionBaseURL, nil
	}
	return "", fmt.Errorf("%w: sid_server %d: want 0 (sandbox) or 1 (production)", ErrConfig, sidServer)
}

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultSignatureWindow   = 5 * time.Minute
	DefaultPendingTTL        = 15 * time.Minute
	DefaultMaxPending        = 10000
	DefaultTimeout           = 10 * time.Second
	DefaultMaxResponseBytes  = 64 << 10
	DefaultMaxCallbackBytes  = 64 << 10
	DefaultMaxImageBytes     = 2 << 20
	DefaultMaxTotalImageSize = 8 << 20
	DefaultMaxLivenessImages = 8
	DefaultMaxConfirmations  = 8
	DefaultSourceSDK         = "rest_api"
	DefaultSourceSDKVersion  = "1.0.0"
)

// Limiter is the optional rate check for paid jobs. Submit calls it before
// it spends anything; a non-nil error refuses the submission and is
// returned wrapped (errors.As reaches the Limiter's own error type, e.g.
// one carrying a Retry-After).
type Limiter interface {
	AllowSubmit(ctx context.Context, userID string, ip netip.Addr) error
}

// Refunder is a Limiter that can give a submission back. Submit admits
// through AdmitSubmit when the Limiter has it, and calls the refund it
// returned only when Smile ID provably created no job for the submission:
// the upload request was refused, timed out, or was answered 5xx or 2xx
// without an upload_url, so no upload URL ever came back and no image was
// sent. Once Smile ID returned an upload URL the submission stays counted,
// whatever happens next (a job may exist and may be billed). A refund
// gives back only what its admission counted, in the window it counted
// it; it may fail silently, leaving the submission counted.
type Refunder interface {
	AdmitSubmit(ctx context.Context, userID string, ip netip.Addr) (refund func(context.Context), err error)
}

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// PartnerID is the Smile ID partner id (sent as partner_id and
	// smile_client_id). Required.
	PartnerID string
	// APIKey is the HMAC key of every signature. Required. It never leaves
	// the process: not in a request, an error, a report or a String().
	APIKey string
	// BaseURL is SandboxBaseURL (default) or ProductionBaseURL or a test
	// server: an absolute https URL without credentials, query or
	// fragment; a path prefix is kept in front of /v1/...
	BaseURL string
	// CallbackURL is where Smile ID posts results: the guard's callback
	// endpoint, an absolute https URL. Required.
	CallbackURL string

	// SignatureWindow bounds a callback timestamp's distance from now, in
	// both directions (default 5m).
	SignatureWindow time.Duration
	// PendingTTL is how long a submitted job waits for its result
	// (default 15m); MaxPending bounds the registry (default 10000).
	PendingTTL time.Duration
	MaxPending int
	// Pending, when set, replaces the in-process registry with a store
	// shared by every guard instance (MaxPending then does not apply).
	Pending Pending
	// MaxConfirmations bounds the job-status calls one job's callbacks
	// may cause, so replayed or forged callbacks cannot make the guard
	// hammer Smile ID (default 8). ConfirmForPoll may add one call per
	// ConfirmEvery of PendingTTL.
	MaxConfirmations int

	// Timeout bounds each outbound call (default 10s).
	Timeout time.Duration
	// MaxResponseBytes caps every response body read (default 64 KiB).
	MaxResponseBytes int64
	// MaxCallbackBytes caps an inbound callback body (default 64 KiB). The
	// Caddy module should read the request with io.LimitReader(body, this+1).
	MaxCallbackBytes int64
	// MaxImageBytes caps one raw image (default 2 MiB);
	// MaxTotalImageBytes caps the selfie and liveness images together
	// (default 8 MiB). Memory per Submit is about 4 × the total (base64, JSON, zip).
	MaxImageBytes      int
	MaxTotalImageBytes int
	// MaxLivenessImages caps the liveness images (default 8).
	MaxLivenessImages int
	// LivenessOptional lets a submission carry no liveness image. Off by
	// default: without them Smile ID cannot check proof of life.
	LivenessOptional bool

	// AuthenticatedCodes and PendingCodes replace the result-code tables
	// (defaults DefaultAuthenticatedCodes, DefaultPendingCodes). Every
	// other code is rejected.
	AuthenticatedCodes []string
	PendingCodes       []string

	// SourceSDK and SourceSDKVersion are sent as source_sdk and
	// source_sdk_version (defaults "rest_api", "1.0.0").
	SourceSDK        string
	SourceSDKVersion string

	// HTTPClient is used for every outbound call (default: a client with
	// no redirects). A copy is taken with redirects disabled, so an upload
	// URL or a signature is never replayed to a host Smile ID sent us to.
	HTTPClient *http.Client
	// Limiter, when set, is asked before each Submit. When nil, the Caddy module
	// must rate-limit paid submissions itself before calling Submit.
	Limiter Limiter
	// Observer receives one Report per exchange; nil discards them.
	Observer Observer
	// Now is the clock (default time.Now); Random is the source of job ids
	// (default crypto/rand).
	Now    func() time.Time
	Random io.Reader
}

// String keeps the API key out of any %v of a Config.
func (cfg Config) String() string {
	return fmt.Sprintf("smileid.Config{PartnerID:%q BaseURL:%q CallbackURL:%q APIKey:[redacted]}", cfg.PartnerID, cfg.BaseURL, cfg.CallbackURL)
}

// GoString keeps the API key out of %#v.
func (cfg Config) GoString() string { return cfg.String() }

func (cfg Config) withDefaults() Config {
	if cfg.BaseURL == "" {
		cfg.BaseURL = SandboxBaseURL
	}
	setDefault(&cfg.SignatureWindow, DefaultSignatureWindow)
	setDefault(&cfg.PendingTTL, DefaultPendingTTL)
	setDefault(&cfg.MaxPending, DefaultMaxPending)
	setDefault(&cfg.MaxConfirmations, DefaultMaxConfirmations)
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	setDefault(&cfg.MaxCallbackBytes, DefaultMaxCallbackBytes)
	setDefault(&cfg.MaxImageBytes, DefaultMaxImageBytes)
	setDefault(&cfg.MaxTotalImageBytes, DefaultMaxTotalImageSize)
	setDefault(&cfg.MaxLivenessImages, DefaultMaxLivenessImages)
	if cfg.AuthenticatedCodes == nil {
		cfg.AuthenticatedCodes = DefaultAuthenticatedCodes
	}
	if cfg.PendingCodes == nil {
		cfg.PendingCodes = DefaultPendingCodes
	}
	if cfg.SourceSDK == "" {
		cfg.SourceSDK = DefaultSourceSDK
	}
	if cfg.SourceSDKVersion == "" {
		cfg.SourceSDKVersion = DefaultSourceSDKVersion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = discardObserver{}
	}
	return cfg
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validate checks a defaulted config. Its errors quote URLs only after
// they are known to hold no credentials.
func (cfg Config) validate() (*url.URL, error) {
	if cfg.PartnerID == "" || cfg.APIKey == "" {
		return nil, fmt.Errorf("%w: partner id and api key are required", ErrConfig)
	}
	base, err := parseHTTPS("base url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := parseHTTPS("callback url", cfg.CallbackURL); err != nil {
		return nil, err
	}
	for name, v := range map[string]int64{
		"signature window":      int64(cfg.SignatureWindow),
		"pending ttl":           int64(cfg.PendingTTL),
		"max pending":           int64(cfg.MaxPending),
		"max confirmations":     int64(cfg.MaxConfirmations),
		"timeout":               int64(cfg.Timeout),
		"max response bytes":    cfg.MaxResponseBytes,
		"max callback bytes":    cfg.MaxCallbackBytes,
		"max image bytes":       int64(cfg.MaxImageBytes),
		"max total image bytes": int64(cfg.MaxTotalImageBytes),
		"max liveness images":   int64(cfg.MaxLivenessImages),
	} {
		if v < 0 {
			return nil, fmt.Errorf("%w: %s must be positive", ErrConfig, name)
		}
	}
	if len(cfg.AuthenticatedCodes) == 0 {
		return nil, fmt.Errorf("%w: authenticated codes must not be empty", ErrConfig)
	}
	for _, a := range cfg.AuthenticatedCodes {
		for _, p := range cfg.PendingCodes {
			if a == p {
				return nil, fmt.Errorf("%w: result code %q is both authenticated and pending", ErrConfig, a)
			}
		}
	}
	return base, nil
}

// parseHTTPS accepts an absolute https URL without credentials, query or
// fragment.
func parseHTTPS(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, fmt.Errorf("%w: %s is not a valid URL", ErrConfig, name)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %s must not contain credentials", ErrConfig, name)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s must not contain a query or fragment", ErrConfig, name)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: %s %q: want an absolute https URL", ErrConfig, name, s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}
