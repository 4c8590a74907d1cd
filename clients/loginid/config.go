package loginid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Key source modes.
const (
	// ModePEM asks DirectWeb's certs endpoint for one PEM public key per
	// kid: GET <KeyURL>?kid=<kid>.
	ModePEM = "pem"
	// ModeJWKS reads a JSON Web Key Set (LoginID's passkey service,
	// /fido2/v2/.well-known/jwks.json) and picks the key by kid.
	ModeJWKS = "jwks"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultAlgorithm         = "ES256"
	DefaultClockSkew         = 30 * time.Second
	DefaultMaxAge            = 2 * time.Minute
	DefaultUserClaim         = "udata"
	DefaultTypeClaim         = "type"
	DefaultNamespaceClaim    = "nid"
	DefaultNonceClaim        = "nonce"
	DefaultAuthType          = "fido2_login"
	DefaultRegistrationType  = "fido2_register"
	DefaultMaxTokenBytes     = 8 << 10
	DefaultKeyCacheSize      = 64
	DefaultKeyTTL            = time.Hour
	DefaultNegativeCacheSize = 256
	DefaultNegativeTTL       = 5 * time.Minute
	DefaultFetchInterval     = 10 * time.Second
	DefaultFetchBurst        = 3
	DefaultFetchTimeout      = 5 * time.Second
	DefaultMaxResponseBytes  = 64 << 10
	DefaultReplayCacheSize   = 100_000
	DefaultReplayPerUser     = 32
	DefaultReplayPerClient   = 256
)

// MaxReplayCacheSize bounds Config.ReplayCacheSize.
const MaxReplayCacheSize = 10_000_000

// CheckReplayCacheSize refuses a replay cache size a config may not give:
// below zero or above MaxReplayCacheSize (zero takes the default).
func CheckReplayCacheSize(n int) error {
	if n < 0 || n > MaxReplayCacheSize {
		return fmt.Errorf("loginid: replay_cache_size must be from 1 to %d, not %d", MaxReplayCacheSize, n)
	}
	return nil
}

// CheckReplayPerUser refuses a per-user share of the replay cache a config
// may not give: below zero or above MaxReplayCacheSize (zero takes the
// default).
func CheckReplayPerUser(n int) error {
	if n < 0 || n > MaxReplayCacheSize {
		return fmt.Errorf("loginid: replay_cache_per_user must be from 1 to %d, not %d", MaxReplayCacheSize, n)
	}
	return nil
}

// CheckReplayPerClient refuses a per-client share of the replay cache a
// config may not give: below zero or above MaxReplayCacheSize (zero
// takes the default).
func CheckReplayPerClient(n int) error {
	if n < 0 || n > MaxReplayCacheSize {
		return fmt.Errorf("loginid: replay_cache_per_client must be from 1 to %d, not %d", MaxReplayCacheSize, n)
	}
	return nil
}

// The range of FetchTimeout a Caddy config may give (the fetch_timeout
// option): a login may wait this long for the key host, so no longer than
// a person would, and no shorter than a TLS handshake with a distant host.
const (
	MinFetchTimeout = 100 * time.Millisecond
	MaxFetchTimeout = 30 * time.Second
)

// The longest MaxAge and ClockSkew a config may give. A DirectWeb token is
// posted by the page as soon as the ceremony returns it (the seed gives it
// no lifetime of its own: its iat is the ceremony's time), and it is a
// bearer token for MaxAge + ClockSkew, which is also how long its use is
// remembered; clocks kept by NTP are seconds apart, not minutes.
const (
	MaxTokenAge  = 10 * time.Minute
	MaxClockSkew = 5 * time.Minute
)

// CheckFetchTimeout refuses a fetch timeout outside MinFetchTimeout to
// MaxFetchTimeout (zero takes the default).
func CheckFetchTimeout(d time.Duration) error {
	if d != 0 && (d < MinFetchTimeout || d > MaxFetchTimeout) {
		return fmt.Errorf("loginid: fetch_timeout must be from %v to %v, not %v", MinFetchTimeout, MaxFetchTimeout, d)
	}
	return nil
}

// Config configures a Verifier. Zero values take the defaults above; New
// validates the rest. Durations and sizes that are negative are refused.
type Config struct {
	// Mode is ModePEM or ModeJWKS. Required.
	Mode string
	// KeyURL is, for ModePEM, the certs endpoint without the kid
	// (DirectWebCertsURL("usw1") gives "https://jwt.usw1.loginid.io/certs");
	// for ModeJWKS, the JWKS document's URL. Must be https and carry no
	// credentials. Required.
	KeyURL string
	// ClientID is the DirectWeb client id (the dashboard's API key): the
	// audience every token must name. Required.
	ClientID string
	// Issuer, when set, must equal the token's iss. Empty: iss not checked.
	Issuer string
	// Namespace, when set, must equal the NamespaceClaim (the "unique ID
	// of your organization" the SDK returns). Empty: not checked.
	Namespace string

	// Algorithm is the only signature algorithm accepted, whatever the
	// token header claims. Only "ES256" is supported.
	Algorithm string
	// ClockSkew tolerated on exp, nbf and iat. Default 30s, at most
	// MaxClockSkew.
	ClockSkew time.Duration
	// MaxAge is how long after iat a token is accepted. Default 2m, at
	// most MaxTokenAge.
	MaxAge time.Duration

	// Claim names the seed does not spell out; see the package doc.
	UserClaim      string // default "udata"
	TypeClaim      string // default "type"
	NamespaceClaim string // default "nid"
	NonceClaim     string // default "nonce"
	// AuthenticationTypes are the TypeClaim values that count as proof of
	// a login. Default ["fido2_login"].
	AuthenticationTypes []string
	// RegistrationTypes are TypeClaim values reported as
	// registration_token rather than wrong_type. Default ["fido2_register"].
	RegistrationTypes []string

	// MaxTokenBytes caps the token's length. Default 8 KiB.
	MaxTokenBytes int

	// KeyCacheSize bounds the number of cached public keys. Default 64.
	KeyCacheSize int
	// KeyTTL is how long a fetched key is used before it is re-checked
	// with the key host. A stale key keeps verifying while the host is
	// down or the refresh is rate limited; it is dropped only when the
	// host says the kid no longer exists. Default 1h.
	KeyTTL time.Duration
	// NegativeCacheSize bounds the kids remembered as unknown. Default 256.
	NegativeCacheSize int
	// NegativeTTL is how long a kid the host did not know stays unknown
	// without asking again. Default 5m.
	NegativeTTL time.Duration
	// FetchInterval and FetchBurst shape the token bucket that gates
	// every request to the key host: at most FetchBurst at once, then one
	// per FetchInterval. Defaults 10s and 3.
	FetchInterval time.Duration
	FetchBurst    int
	// FetchTimeout bounds one key host request. Default 5s.
	FetchTimeout time.Duration
	// MaxResponseBytes caps a key host response body. Default 64 KiB.
	MaxResponseBytes int64

	// ReplayCacheSize bounds the default in-memory replay cache. Ignored
	// when ReplayCache is set. Default 100000.
	ReplayCacheSize int
	// ReplayCache, when set, replaces the in-memory cache (for example one
	// kept across config reloads, or a shared store).
	ReplayCache ReplayCache
	// ReplayPerUser bounds the replay cache's unexpired entries one user's
	// tokens may hold (whatever the cache), the user being the token's
	// user name exactly as signed, so that one account cannot fill a
	// bounded cache, and tokens of another spelling of a name cannot
	// spend that name's share: past it that user's tokens are refused
	// (replay_user_limit) until their entries expire. Default 32.
	ReplayPerUser int
	// ReplayPerClient bounds the replay cache's unexpired entries the
	// tokens sent from one client network (the IPv4 /24 or IPv6 /48 of
	// the address given to Verify) may hold, whatever their users, so
	// that one place cannot fill the cache with the tokens of many
	// self-registered names, or of many spellings of one: past it that
	// network's tokens are refused (replay_client_limit) until their
	// entries expire. Default 256.
	ReplayPerClient int

	// HTTPClient fetches keys. Default: a client with FetchTimeout. The
	// Verifier uses a copy that never follows redirects, so a key host
	// cannot send it elsewhere.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observer receives key fetch reports. Optional.
	Observer Observer
	// Enrolled, when set, is asked by Verify, once a token has passed
	// every other check but the replay cache, whether its user's LoginID
	// credential was registered under the caller's enrolment rules (see
	// VerifyRegistration). false refuses the token (not_enrolled, Reason
	// assertion_not_enrolled); an error refuses it as unverifiable
	// (enrolment_unavailable, retryable). Nil: every user counts.
	Enrolled func(ctx context.Context, user string) (bool, error)
}

// CheckKeySource: the keys come from keyURL, or in mode pem from a
// region (DirectWebCertsURL), never both: one would be ignored without a
// word. It checks the combination, not the values, which may still be
// placeholders.
func CheckKeySource(mode, keyURL, region string) error {
	switch {
	case keyURL != "" && region != "":
		return errors.New("loginid: give key_url or region, not both (region fills key_url as https://jwt.<region>.loginid.io/certs)")
	case region != "" && mode != ModePEM:
		return errors.New("loginid: region is for mode pem; mode jwks needs key_url")
	case keyURL == "" && region == "":
		return errors.New("loginid: key_url is required (or region, with mode pem)")
	}
	return nil
}

// KeySource is the key URL a config names: keyURL, or the DirectWeb
// certs URL of region, checked as CheckKeySource does.
func KeySource(mode, keyURL, region string) (string, error) {
	if err := CheckKeySource(mode, keyURL, region); err != nil || keyURL != "" {
		return keyURL, err
	}
	return DirectWebCertsURL(region)
}

// DirectWebCertsURL is the DirectWeb certs endpoint for a region such as
// "usw1": https://jwt.<region>.loginid.io/certs.
func DirectWebCertsURL(region string) (string, error) {
	if region == "" || len(region) > 32 {
		return "", errors.New("loginid: region must be 1 to 32 characters")
	}
	for i := 0; i < len(region); i++ {
		c := region[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", errors.New("loginid: region may hold only a-z, 0-9 and -")
		}
	}
	return "https://jwt." + region + ".loginid.io/certs", nil
}

// withDefaults returns a copy of c with defaults filled in, or the first
// configuration problem found.
func (c Config) withDefaults() (Config, error) {
	if c.Mode != ModePEM && c.Mode != ModeJWKS {
		return c, fmt.Errorf("loginid: mode must be %q or %q", ModePEM, ModeJWKS)
	}
	if err := CheckKeyURL(c.KeyURL); err != nil {
		return c, err
	}
	if c.ClientID == "" {
		return c, errors.New("loginid: client id is required")
	}
	if c.Algorithm == "" {
		c.Algorithm = DefaultAlgorithm
	}
	if c.Algorithm != DefaultAlgorithm {
		return c, fmt.Errorf("loginid: algorithm must be %s", DefaultAlgorithm)
	}
	durations := []struct {
		p        *time.Duration
		def, max time.Duration // max 0: no bound
		n        string
	}{
		{&c.ClockSkew, DefaultClockSkew, MaxClockSkew, "clock_skew"},
		{&c.MaxAge, DefaultMaxAge, MaxTokenAge, "max_age"},
		{&c.KeyTTL, DefaultKeyTTL, 0, "key_ttl"},
		{&c.NegativeTTL, DefaultNegativeTTL, 0, "negative_ttl"},
		{&c.FetchInterval, DefaultFetchInterval, 0, "fetch_interval"},
		{&c.FetchTimeout, DefaultFetchTimeout, 0, "fetch_timeout"},
	}
	for _, d := range durations {
		if *d.p < 0 {
			return c, fmt.Errorf("loginid: %s must not be negative", d.n)
		}
		if d.max > 0 && *d.p > d.max {
			return c, fmt.Errorf("loginid: %s must be a positive duration of at most %v, not %v", d.n, d.max, *d.p)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	ints := []struct {
		p   *int
		def int
		n   string
	}{
		{&c.MaxTokenBytes, DefaultMaxTokenBytes, "max_token_bytes"},
		{&c.KeyCacheSize, DefaultKeyCacheSize, "key_cache_size"},
		{&c.NegativeCacheSize, DefaultNegativeCacheSize, "negative_cache_size"},
		{&c.FetchBurst, DefaultFetchBurst, "fetch_burst"},
		{&c.ReplayCacheSize, DefaultReplayCacheSize, "replay_cache_size"},
	}
	for _, v := range ints {
		if *v.p < 0 {
			return c, fmt.Errorf("loginid: %s must not be negative", v.n)
		}
		if *v.p == 0 {
			*v.p = v.def
		}
	}
	if err := CheckReplayCacheSize(c.ReplayCacheSize); err != nil {
		return c, err
	}
	if err := CheckReplayPerUser(c.ReplayPerUser); err != nil {
		return c, err
	}
	if c.ReplayPerUser == 0 {
		c.ReplayPerUser = DefaultReplayPerUser
	}
	if err := CheckReplayPerClient(c.ReplayPerClient); err != nil {
		return c, err
	}
	if c.ReplayPerClient == 0 {
		c.ReplayPerClient = DefaultReplayPerClient
	}
	if c.MaxResponseBytes < 0 {
		return c, errors.New("loginid: max_response_bytes must not be negative")
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	names := []struct {
		p   *string
		def string
	}{
		{&c.UserClaim, DefaultUserClaim},
		{&c.TypeClaim, DefaultTypeClaim},
		{&c.NamespaceClaim, DefaultNamespaceClaim},
		{&c.NonceClaim, DefaultNonceClaim},
	}
	for _, n := range names {
		if *n.p == "" {
			*n.p = n.def
		}
	}
	if len(c.AuthenticationTypes) == 0 {
		c.AuthenticationTypes = []string{DefaultAuthType}
	}
	if c.RegistrationTypes == nil {
		c.RegistrationTypes = []string{DefaultRegistrationType}
	}
	for _, list := range []struct {
		name  string
		types []string
	}{{"authentication", c.AuthenticationTypes}, {"registration", c.RegistrationTypes}} {
		for i, t := range list.types {
			if slices.Contains(list.types[:i], t) {
				return c, fmt.Errorf("loginid: %s type %q given twice", list.name, t)
			}
		}
	}
	for _, a := range c.AuthenticationTypes {
		if a == "" {
			return c, errors.New("loginid: authentication types must not be empty strings")
		}
		for _, r := range c.RegistrationTypes {
			if a == r {
				return c, fmt.Errorf("loginid: type %q is both an authentication and a registration type", a)
			}
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.FetchTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = discardObserver{}
	}
	return c, nil
}

// CheckKeyURL refuses what would leak or mislead: non-https schemes,
// credentials in the URL (they would end up in error messages) and
// fragments.
func CheckKeyURL(raw string) error {
	if raw == "" {
		return errors.New("loginid: key url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("loginid: key url does not parse")
	}
	if u.Scheme != "https" || u.Host == "" {
		return errors.New("loginid: key url must be an absolute https URL")
	}
	if u.User != nil {
		return errors.New("loginid: key url must not carry credentials")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return errors.New("loginid: key url must not carry a fragment")
	}
	return nil
}
