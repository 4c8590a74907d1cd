package httpengine

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultName             = "http"
	DefaultTimeout          = 2 * time.Second
	DefaultMaxResponseBytes = 16 << 10
	DefaultMaxReasons       = 8
	DefaultMaxReasonLen     = 48
	DefaultMaxIdleConns     = 16
)

// MaxTimeout bounds the Timeout a Caddy config may give (the timeout
// option): a login waits for the service before it goes on.
const MaxTimeout = 30 * time.Second

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// Name is the engine's name in reasons, metrics and correlations
	// (default "http").
	Name string
	// URL is where attempts are POSTed: absolute http or https, without
	// user info or fragment (errors never quote it, but keep secrets in
	// Headers anyway).
	URL string
	// Headers are sent with every request, e.g. {"Authorization": "Bearer
	// ..."}. Content-Type, Content-Length and Host cannot be set. Values
	// are secrets as far as this package is concerned: never in errors.
	Headers map[string]string
	// Timeout bounds one call on top of the caller's deadline
	// (default 2s).
	Timeout time.Duration
	// MaxResponseBytes caps the answer read (default 16 KiB); a larger one
	// is malformed.
	MaxResponseBytes int64
	// MaxReasons and MaxReasonLen bound the service's reasons kept per
	// verdict (defaults 8 and 48 bytes).
	MaxReasons   int
	MaxReasonLen int
	// AllowedReasons, when set, is the closed list of reasons the service
	// may give (in sanitized form); others become "engine_other".
	AllowedReasons []string
	// MaxIdleConns is the number of keep-alive connections kept to the
	// service (default 16). Ignored with HTTPClient.
	MaxIdleConns int
	// HTTPClient replaces the default keep-alive client. Neither follows
	// redirects: the client uses a copy of it with its CheckRedirect
	// replaced.
	HTTPClient *http.Client
	// Now is the clock for attempts without a Time (default time.Now).
	Now func() time.Time
}

// forbiddenHeaders are set by the client itself.
var forbiddenHeaders = map[string]bool{"Content-Type": true, "Content-Length": true, "Host": true}

func (cfg Config) withDefaults() Config {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxReasons == 0 {
		cfg.MaxReasons = DefaultMaxReasons
	}
	if cfg.MaxReasonLen == 0 {
		cfg.MaxReasonLen = DefaultMaxReasonLen
	}
	if cfg.MaxIdleConns == 0 {
		cfg.MaxIdleConns = DefaultMaxIdleConns
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// CheckHeader reports whether New would accept a header of Config.Headers:
// a valid name the client does not set itself, and a value without line
// breaks or NUL. The error never quotes the value (it may be a secret).
func CheckHeader(name, value string) error {
	canon := http.CanonicalHeaderKey(name)
	switch {
	case !validHeaderName(name):
		return fmt.Errorf("header name %q is invalid", name)
	case forbiddenHeaders[canon]:
		return fmt.Errorf("header %s is set by the client", canon)
	case strings.ContainsAny(value, "\r\n\x00"):
		return fmt.Errorf("header %s has an invalid value", canon)
	}
	return nil
}

// CheckURL reports whether New would accept s as Config.URL.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("url is required")
	case err != nil:
		return errors.New("url is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return errors.New("url must be absolute http or https")
	case u.User != nil || u.Fragment != "":
		return errors.New("url must not carry user info or a fragment")
	}
	return nil
}

func (cfg Config) validate() error {
	var errs []error
	if err := CheckURL(cfg.URL); err != nil {
		errs = append(errs, err)
	}
	for name, value := range cfg.Headers {
		if err := CheckHeader(name, value); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []struct {
		name string
		v    int64
	}{
		{"timeout", int64(cfg.Timeout)},
		{"max response bytes", cfg.MaxResponseBytes},
		{"max reasons", int64(cfg.MaxReasons)},
		{"max reason length", int64(cfg.MaxReasonLen)},
		{"max idle conns", int64(cfg.MaxIdleConns)},
	} {
		if p.v < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.name))
		}
	}
	for i, r := range cfg.AllowedReasons {
		if err := checkAllowedReason(r, cfg.MaxReasonLen); err != nil {
			errs = append(errs, err)
		}
		if slices.Contains(cfg.AllowedReasons[:i], r) {
			errs = append(errs, fmt.Errorf("allowed reason %q given twice", r))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("httpengine %s: %w", cfg.Name, errors.Join(errs...))
	}
	return nil
}

// CheckAllowedReason refuses an allowed reason a service's answer could
// never match with the default MaxReasonLen: one not in sanitized form.
func CheckAllowedReason(r string) error { return checkAllowedReason(r, DefaultMaxReasonLen) }

func checkAllowedReason(r string, maxLen int) error {
	if r == "" || SanitizeReason(r, maxLen) != r {
		return fmt.Errorf("allowed reason %q is not in sanitized form ([a-z0-9_], no leading, trailing or double _, at most %d bytes)", r, maxLen)
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// reasonSet is the allowlist, nil when every sanitized reason passes.
func (cfg Config) reasonSet() map[string]bool {
	if len(cfg.AllowedReasons) == 0 {
		return nil
	}
	m := make(map[string]bool, len(cfg.AllowedReasons))
	for _, r := range cfg.AllowedReasons {
		m[r] = true
	}
	return m
}

var _ rules.Engine = (*Client)(nil)
