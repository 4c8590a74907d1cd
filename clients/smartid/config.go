package smartid

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Environment selects the API path prefix and goes with the license: the
// vendor issues separate licenses for dev/QA and production.
type Environment string

const (
	Production Environment = "production" // prefix /api/v5
	Dev        Environment = "dev"        // prefix /api-dev/v5
)

func (e Environment) pathPrefix() string {
	if e == Dev {
		return "api-dev/v5"
	}
	return "api/v5"
}

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultEnvironment   = Production
	DefaultChannelKind   = ChannelWeb
	DefaultTimeout       = 5 * time.Second
	DefaultQueueSize     = 1024
	DefaultWorkers       = 4
	DefaultMaxAttempts   = 4
	DefaultBackoffBase   = 200 * time.Millisecond
	DefaultBackoffMax    = 5 * time.Second
	DefaultMaxEventBytes = 64 << 10
	DefaultLinger        = 20 * time.Millisecond
)

// MaxLinger bounds Config.Linger: an event is never held back longer.
const MaxLinger = 100 * time.Millisecond

// MaxTimeout bounds Config.Timeout: a worker waits no longer for one
// answer (a longer wait only holds the queue behind an unresponsive
// SmartID; SmartID answers at once, processing events asynchronously).
const MaxTimeout = time.Minute

// Bounds of Config.QueueSize and Config.Workers: the queue is allocated
// up front, and each worker holds a connection.
const (
	MaxQueueSize = 1 << 20
	MaxWorkers   = 256
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// Endpoint is the SmartID base URL, absolute http or https, optionally
	// with a path prefix: "https://smartid.example.com". It must not carry
	// credentials, a query or a fragment (errors may quote the URL).
	Endpoint string
	// License is the bearer token. Never logged, never in an error.
	License string
	// Environment is Production (default) or Dev.
	Environment Environment
	// ChannelKind is the default channel kind for events that leave theirs
	// empty: ChannelWeb (default) or ChannelApp.
	ChannelKind ChannelKind
	// ChannelID is the default channel id for events that leave theirs 0.
	// 0 here means every event must carry its own.
	ChannelID int

	// Timeout bounds one HTTP attempt (default 5s, at most MaxTimeout). Of events pipelined
	// in one write, each answer gets Timeout after the one before.
	Timeout time.Duration
	// QueueSize is the number of events waiting for a worker (default 1024).
	QueueSize int
	// Workers is the number of concurrent deliveries (default 4).
	Workers int
	// MaxAttempts bounds the attempts per event, the first included
	// (default 4).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay: attempt n waits a
	// random duration in [d/2, d] where d = min(BackoffBase·2^(n-1),
	// BackoffMax) (defaults 200ms and 5s). The Retry-After of a 429 or 503,
	// when given in seconds, replaces the wait, still capped at BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxEventBytes caps one encoded event (default 64 KiB); larger events
	// are refused by Enqueue with ErrEventTooLarge.
	MaxEventBytes int
	// Linger is how long a worker that has sent and finds the queue empty
	// waits for the next events to write together, when events have been
	// coming closer together than this (default 20ms, at most MaxLinger;
	// negative turns it off). Under steady load it saves a write, a read
	// and the wake-ups around them for every event that shares the write;
	// an event after a quiet spell is sent at once, and Close does not
	// wait for it. SmartID processes events asynchronously, so the wait
	// delays nothing a user sees, and the longer the window, the further
	// apart events may come and still share a write (docs/performance.md,
	// the sender at low rates). It applies to the default sender's
	// kept-alive connections, not to net/http's.
	Linger time.Duration

	// Observer receives delivery reports; nil discards them.
	Observer Observer
	// HTTPClient replaces the default sender. The default gives each
	// worker its own kept-alive HTTP/1.1 connection (net/http's client
	// when a proxy from the environment applies to the endpoint, or the
	// server speaks HTTP/2 only) and follows no redirect; a replacement
	// should keep connections alive, costs more CPU per event, and is
	// used through a copy that follows no redirect either (its
	// CheckRedirect is ignored).
	HTTPClient *http.Client
	// TLSConfig sets the TLS client settings (roots, client certificate,
	// server name) for an https endpoint; nil uses the system roots. It
	// cannot be combined with HTTPClient, whose transport has its own.
	TLSConfig *tls.Config
	// Sleep waits d or until ctx ends (then returning ctx.Err()). Tests
	// replace it to run retries without real time passing.
	Sleep func(ctx context.Context, d time.Duration) error
}

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Environment == "" {
		cfg.Environment = DefaultEnvironment
	}
	if cfg.ChannelKind == "" {
		cfg.ChannelKind = DefaultChannelKind
	}
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.Workers, DefaultWorkers)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.BackoffBase, DefaultBackoffBase)
	setDefault(&cfg.BackoffMax, DefaultBackoffMax)
	setDefault(&cfg.MaxEventBytes, DefaultMaxEventBytes)
	setDefault(&cfg.Linger, DefaultLinger)
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
	return cfg
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validate checks a defaulted config and returns the parsed endpoint.
func (cfg Config) validate() (*url.URL, error) {
	u, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	var errs []error
	if err := CheckLicense(cfg.License); err != nil {
		errs = append(errs, err)
	}
	if cfg.Environment != Production && cfg.Environment != Dev {
		errs = append(errs, fmt.Errorf("environment %q: want %q or %q", cfg.Environment, Production, Dev))
	}
	if !cfg.ChannelKind.valid() {
		errs = append(errs, fmt.Errorf("channel kind %q: want %q or %q", cfg.ChannelKind, ChannelWeb, ChannelApp))
	}
	if cfg.ChannelID < 0 {
		errs = append(errs, errors.New("channel id must not be negative"))
	}
	for _, p := range []struct {
		name string
		v    int64
	}{
		{"timeout", int64(cfg.Timeout)},
		{"queue size", int64(cfg.QueueSize)},
		{"workers", int64(cfg.Workers)},
		{"max attempts", int64(cfg.MaxAttempts)},
		{"backoff base", int64(cfg.BackoffBase)},
		{"backoff max", int64(cfg.BackoffMax)},
		{"max event bytes", int64(cfg.MaxEventBytes)},
	} {
		if p.v < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.name))
		}
	}
	if cfg.QueueSize > MaxQueueSize {
		errs = append(errs, fmt.Errorf("queue size must be at most %d, not %d", MaxQueueSize, cfg.QueueSize))
	}
	if cfg.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers must be at most %d, not %d", MaxWorkers, cfg.Workers))
	}
	if cfg.TLSConfig != nil && cfg.HTTPClient != nil {
		errs = append(errs, errors.New("tls config and http client are exclusive: set TLS on the client's transport"))
	}
	if cfg.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout must be a positive duration of at most %v, not %v", MaxTimeout, cfg.Timeout))
	}
	if cfg.Linger > MaxLinger {
		errs = append(errs, fmt.Errorf("linger must not exceed %s", MaxLinger))
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		errs = append(errs, errors.New("backoff max must not be below backoff base"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smartid: config: %w", errors.Join(errs...))
	}
	return u, nil
}

// Validate reports what New would refuse in cfg (zero fields take their
// defaults), without building anything: for a config loader's checks.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults().validate()
	return err
}

// CheckLicense reports whether New would accept s as the license: present,
// and visible ASCII only, as it follows "Bearer " in a header. The error
// never quotes it.
func CheckLicense(s string) error {
	if s == "" {
		return errors.New("license is required")
	}
	if !validToken(s) {
		return errors.New("license contains characters not allowed in an HTTP header")
	}
	return nil
}

// CheckEndpoint reports whether New would accept s as the endpoint.
func CheckEndpoint(s string) error {
	_, err := parseEndpoint(s)
	return err
}

// parseEndpoint accepts an absolute http(s) URL without credentials, query
// or fragment. Its error quotes the URL only once it is known to hold no
// credentials.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, errors.New("smartid: config: endpoint is not a valid URL")
	}
	if u.User != nil {
		return nil, errors.New("smartid: config: endpoint must not contain credentials; use license")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("smartid: config: endpoint %q: want an absolute http or https URL", s)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		// The license goes in every request's Authorization header.
		return nil, fmt.Errorf("smartid: config: endpoint %q: plain http would send the license in the clear; use https (http only to a loopback address, such as a local forwarder)", s)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("smartid: config: endpoint must not contain a query or fragment")
	}
	return u, nil
}

// loopbackHost reports whether host names this machine's loopback.
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// validToken reports whether s can follow "Bearer " in a header: visible
// ASCII only. Checked here so a bad license fails at New, not at every
// request.
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
