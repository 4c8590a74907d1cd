package forter

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultName       = "forter"
	DefaultAPIVersion = "2.36" // an assumption: see the package doc
	// DefaultAuthResultMethodKey is the authentication-result body's key
	// for the method object: Forter's public guide says
	// additionalAuthenticationMethod, the seed's prose
	// AdvancedAuthenticationMethod. An assumption to check.
	DefaultAuthResultMethodKey = "additionalAuthenticationMethod"
	DefaultTokenCookie         = "forterToken"
	DefaultLoginMethodType     = "PASSWORD"
	DefaultChannelType         = "WEB"
	DefaultTimeout             = 2 * time.Second
	DefaultMaxResponseBytes    = 64 << 10
	DefaultMaxIdleConns        = 16
)

// MaxTimeout bounds the Timeout a Caddy config may give (the timeout
// option): a login waits for Forter before it goes on.
const MaxTimeout = 30 * time.Second

// NoAccountID is the account id Forter asks for when none is known.
const NoAccountID = "NO_ACCOUNT_ID"

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// Name is the engine's name in reasons, metrics and correlations
	// (default "forter").
	Name string
	// SiteID is the Forter site id (required; letters and digits). It
	// names the default endpoint host and the x-forter-siteid header.
	SiteID string
	// APIKey is the Forter secret key (required). Never in an error.
	APIKey string
	// Endpoint replaces https://{SiteID}.api.forter-secure.com (tests, a
	// proxy). Absolute http or https, no user info, query or fragment; a
	// path prefix is kept.
	Endpoint string
	// APIVersion is the api-version header (default "2.36", an assumption
	// to check against your Forter integration).
	APIVersion string
	// TokenCookie is the cookie holding Forter's JS token
	// (default "forterToken").
	TokenCookie string
	// LoginMethodType is sent as loginMethodType (default "PASSWORD").
	LoginMethodType string
	// ChannelType is sent as channelType (default "WEB").
	ChannelType string
	// OnNotReviewed is the action for NOT_REVIEWED (default allow).
	OnNotReviewed rules.Action
	// UnknownLoginStatus is sent as loginStatus before the upstream
	// answered (Outcome unknown); "" (default) omits the field.
	UnknownLoginStatus string
	// AuthResultMethodKey is the JSON key of the method object in the
	// authentication-result body (default DefaultAuthResultMethodKey).
	AuthResultMethodKey string
	// AccountID resolves the merchant's account id for Decide; nil, or an
	// empty result, sends NO_ACCOUNT_ID.
	AccountID func(*rules.Attempt) string
	// Timeout bounds one call on top of the caller's deadline
	// (default 2s).
	Timeout time.Duration
	// MaxResponseBytes caps the answer read (default 64 KiB).
	MaxResponseBytes int64
	// MaxIdleConns is the number of keep-alive connections kept to Forter
	// (default 16). Ignored with HTTPClient.
	MaxIdleConns int
	// HTTPClient replaces the default keep-alive client. Neither follows
	// redirects: the client uses a copy of it with its CheckRedirect
	// replaced.
	HTTPClient *http.Client
	// Now is the clock for eventTime when an attempt has no time, and for
	// authentication results (default time.Now).
	Now func() time.Time
}

func (cfg Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.Name, DefaultName)
	def(&cfg.APIVersion, DefaultAPIVersion)
	def(&cfg.TokenCookie, DefaultTokenCookie)
	def(&cfg.LoginMethodType, DefaultLoginMethodType)
	def(&cfg.ChannelType, DefaultChannelType)
	if cfg.Endpoint == "" && cfg.SiteID != "" {
		cfg.Endpoint = "https://" + cfg.SiteID + ".api.forter-secure.com"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxIdleConns == 0 {
		cfg.MaxIdleConns = DefaultMaxIdleConns
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// validate checks a defaulted config and returns the endpoint without a
// trailing slash.
func (cfg Config) validate() (string, error) {
	var errs []error
	if cfg.SiteID == "" {
		errs = append(errs, errors.New("site id is required"))
	} else if !alnum(cfg.SiteID) || len(cfg.SiteID) > 64 {
		errs = append(errs, errors.New("site id must be 1 to 64 letters and digits"))
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("api key is required"))
	}
	if !token(cfg.APIVersion, "0123456789.") {
		errs = append(errs, fmt.Errorf("api version %q: want digits and dots", cfg.APIVersion))
	}
	if !token(cfg.TokenCookie, "!#$%&'*+-.^_`|~") {
		errs = append(errs, fmt.Errorf("token cookie name %q is not a valid cookie name", cfg.TokenCookie))
	}
	for _, f := range []struct{ name, v string }{
		{"login method type", cfg.LoginMethodType},
		{"channel type", cfg.ChannelType},
		{"unknown login status", cfg.UnknownLoginStatus},
	} {
		if f.v != "" && !token(f.v, "_") {
			errs = append(errs, fmt.Errorf("%s %q: want letters, digits and _", f.name, f.v))
		}
	}
	if cfg.OnNotReviewed > rules.Deny {
		errs = append(errs, errors.New("on_not_reviewed must be allow, challenge or deny"))
	}
	for _, p := range []struct {
		name string
		v    int64
	}{
		{"timeout", int64(cfg.Timeout)},
		{"max response bytes", cfg.MaxResponseBytes},
		{"max idle conns", int64(cfg.MaxIdleConns)},
	} {
		if p.v < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.name))
		}
	}
	base, err := endpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("forter %s: %w", cfg.Name, errors.Join(errs...))
	}
	return base, nil
}

// CheckEndpoint reports whether New would accept s as Config.Endpoint.
func CheckEndpoint(s string) error {
	_, err := endpoint(s)
	return err
}

func endpoint(s string) (string, error) {
	if s == "" {
		return "", errors.New("endpoint is required (or a site id for the default)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("endpoint is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return "", errors.New("endpoint must be absolute http or https")
	case u.User != nil, u.RawQuery != "", u.Fragment != "":
		// Not quoted: user info would be a credential.
		return "", errors.New("endpoint must not carry user info, a query or a fragment")
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		// The API key goes in every request's Authorization header.
		return "", errors.New("endpoint: plain http would send the API key in the clear; use https (http only to a loopback address, such as a local forwarder)")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// loopbackHost reports whether host names this machine's loopback.
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func alnum(s string) bool { return token(s, "") }

// token reports whether s is non-empty and made of ASCII letters, digits
// and the bytes in extra.
func token(s, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}
