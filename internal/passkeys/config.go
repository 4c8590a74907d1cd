package passkeys

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Sealer is the part of *tokens.Keyset used for enrolment tokens.
type Sealer interface {
	Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error)
	Open(purpose, token string, now time.Time, dst any) error
}

// Defaults for Config.
const (
	DefaultKeyPrefix = "login_guard/passkeys"
	// DefaultStorageTimeout bounds a storage call: long enough for a
	// remote storage's round trips and a lock another request holds for
	// one registration, short of a person giving up.
	DefaultStorageTimeout = 5 * time.Second
	DefaultCeremonyTTL    = 2 * time.Minute
	DefaultMaxCeremonies  = 10_000
	// DefaultMaxCeremoniesPerClient is one client's share.
	DefaultMaxCeremoniesPerClient = 20
	DefaultMaxCredentials         = 10
	DefaultMaxBodyBytes           = 64 << 10
	DefaultEnrolWindow            = 10 * time.Minute
)

// Config configures the relying party and the wrapper's bounds.
type Config struct {
	// RPID is the relying party id: the site's registrable domain or host,
	// e.g. "portal.example.com". Required.
	RPID string
	// RPOrigins are the origins the browser may report, e.g.
	// "https://portal.example.com". Required.
	RPOrigins []string
	// RPDisplayName is shown by the authenticator. Required.
	RPDisplayName string
	// UserVerification is "required", "preferred" (default) or
	// "discouraged".
	UserVerification string
	// CeremonyTTL is how long a Begin waits for its Finish (default 2m).
	CeremonyTTL time.Duration
	// MaxCeremonies bounds ceremonies in flight (default 10000) and
	// MaxCeremoniesPerClient those of one client named with WithClient
	// (default 20). A Begin over either is refused (ReasonBusy); none in
	// flight is dropped.
	MaxCeremonies          int
	MaxCeremoniesPerClient int
	// MaxCredentials bounds passkeys per user (default 10).
	MaxCredentials int
	// MaxBodyBytes bounds a Finish request body (default 64 KiB).
	MaxBodyBytes int64
	// KeyPrefix is the storage prefix (default "login_guard/passkeys").
	KeyPrefix string
	// StorageTimeout bounds each call to the store, a lock's wait
	// included (default DefaultStorageTimeout).
	StorageTimeout time.Duration
	// UserKey maps a user name to its storage key component. Default: hex
	// SHA-256; pass a keyed pseudonym in production. Its output must be
	// usable in a storage key (no "/"). Names the portal takes for one
	// account must map to one key (fold them first), or an account's
	// passkeys are not found under another spelling, nor a rule about
	// them kept.
	UserKey func(user string) string
	// LegacyUserKey, when set, is the key component records were stored
	// under before UserKey folded names: a record not found under UserKey
	// is read from it, and written back under UserKey.
	LegacyUserKey func(user string) string
	// EnrolWindow is how recent a clean login must be to enrol with it
	// (default 10m): an old session cookie is not enough.
	EnrolWindow time.Duration
	// Tokens seals enrolment tokens; nil disables enrolment links.
	Tokens Sealer
	// AllowCloneWarning accepts a login whose sign count went backwards
	// (the credential is still marked). Default false: refuse.
	AllowCloneWarning bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Ceremonies, when set, keeps ceremonies in flight in a store shared
	// by every instance instead of this process (MaxCeremonies then does
	// not apply: the backend's memory bounds them).
	Ceremonies CeremonyBackend
}

// Passkeys registers and verifies passkeys for the guard.
type Passkeys struct {
	cfg        Config
	store      Store
	wa         *webauthn.WebAuthn
	ceremonies ceremonyStore
}

// New checks cfg, fills defaults and builds the go-webauthn relying party.
func New(cfg Config, store Store) (*Passkeys, error) {
	if store == nil {
		return nil, errors.New("passkeys: no store")
	}
	if cfg.RPID == "" || len(cfg.RPOrigins) == 0 || cfg.RPDisplayName == "" {
		return nil, errors.New("passkeys: rp_id, rp_origins and rp_display_name are required")
	}
	for i, o := range cfg.RPOrigins {
		if err := originOfRPID(o, cfg.RPID); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(cfg.RPOrigins[:i], func(p string) bool { return strings.EqualFold(p, o) }) {
			return nil, fmt.Errorf("passkeys: rp_origin %q given twice", o)
		}
	}
	uv := protocol.UserVerificationRequirement(cfg.UserVerification)
	switch uv {
	case "":
		uv = protocol.VerificationPreferred
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("passkeys: user_verification %q (want required, preferred or discouraged)", cfg.UserVerification)
	}
	cfg.UserVerification = string(uv)
	if cfg.CeremonyTTL <= 0 {
		cfg.CeremonyTTL = DefaultCeremonyTTL
	}
	if cfg.MaxCeremonies <= 0 {
		cfg.MaxCeremonies = DefaultMaxCeremonies
	}
	if cfg.MaxCeremoniesPerClient <= 0 {
		cfg.MaxCeremoniesPerClient = DefaultMaxCeremoniesPerClient
	}
	if cfg.MaxCredentials <= 0 {
		cfg.MaxCredentials = DefaultMaxCredentials
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.StorageTimeout <= 0 {
		cfg.StorageTimeout = DefaultStorageTimeout
	}
	if cfg.UserKey == nil {
		cfg.UserKey = defaultUserKey
	}
	if cfg.EnrolWindow <= 0 {
		cfg.EnrolWindow = DefaultEnrolWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	residentKey := protocol.ResidentKeyRequirementPreferred
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.RPOrigins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      residentKey,
			UserVerification: uv,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	var cs ceremonyStore = newCeremonies(cfg.MaxCeremonies, cfg.MaxCeremoniesPerClient, cfg.CeremonyTTL, cfg.Now)
	if cfg.Ceremonies != nil {
		cs = &sharedCeremonies{b: cfg.Ceremonies, ttl: cfg.CeremonyTTL, perClient: cfg.MaxCeremoniesPerClient}
	}
	return &Passkeys{cfg: cfg, store: store, wa: wa, ceremonies: cs}, nil
}

// Stats are counters for metrics.
type Stats struct {
	Ceremonies int    // in flight
	Refused    uint64 // Begins refused: the map or the client's share was full
	Expired    uint64 // dropped at their TTL
}

// Stats returns the ceremony counters.
func (p *Passkeys) Stats() Stats { return p.ceremonies.stats() }

// originOfRPID refuses an origin whose host is neither the rp_id nor
// below it: a browser refuses every ceremony there (the rp_id must be the
// page's host or a registrable suffix of it), so no passkey could ever be
// registered or used.
func originOfRPID(origin, rpID string) error {
	u, err := url.Parse(origin)
	host, id := "", strings.ToLower(rpID)
	if err == nil {
		host = strings.ToLower(u.Hostname())
	}
	if host != id && !strings.HasSuffix(host, "."+id) {
		return fmt.Errorf("passkeys: rp_origin %q is not on rp_id %s or below it: browsers refuse a passkey ceremony there", origin, rpID)
	}
	return nil
}
