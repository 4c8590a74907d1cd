package stepup

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/login-guard/login_guard/internal/tokens"
	"github.com/login-guard/login_guard/rules"
)

// Phase says what a challenge holds for the completion to release.
type Phase string

const (
	// PhaseBefore: the challenge came before the upstream saw the login;
	// the held entry is the original request.
	PhaseBefore Phase = "before"
	// PhaseAfter: the upstream already accepted the login; the held entry
	// is its withheld response, so the portal is not asked twice.
	PhaseAfter Phase = "after"
	// PhaseResubmit: nothing is held; completion issues a Pass that lets
	// the user submit the login form again once.
	PhaseResubmit Phase = "resubmit"
)

// State is what a step-up token carries. Its field names are short because
// it travels in a cookie.
type State struct {
	User         string              `json:"u"`
	Route        string              `json:"r"`
	IPPrefix     string              `json:"ip"`
	UAHash       string              `json:"ua"`
	Reasons      []string            `json:"rs,omitempty"`
	Correlations []rules.Correlation `json:"c,omitempty"`
	// AccountID is the portal's account id when the route knew it (its
	// account_id placeholder): second-factor results are reported to the
	// engines under it.
	AccountID string `json:"acct,omitempty"`
	// Handle names the held entry (and the state itself, for one use).
	Handle string `json:"h"`
	// Key opens the held entry; it exists nowhere but in the tokens.
	Key    []byte `json:"k,omitempty"`
	Phase  Phase  `json:"p"`
	Return string `json:"ret,omitempty"`
	// StepUp: see Binding.StepUp.
	StepUp string `json:"su,omitempty"`
	// Domain: see Challenge.Domain.
	Domain string `json:"dom,omitempty"`
	// Host is the host the login came to (placeHost): a step-up on the
	// login's site finishes the state only there (see stepUpRefusal).
	Host string `json:"hst,omitempty"`
	// Operation: the held request is an operation (a payment, a change
	// of details), not a sign-in; the page says so.
	Operation bool `json:"op,omitempty"`
	// Passkey names the passkey that passed the step-up's factor (its
	// passkeys.CredentialDigest), set by the completion on the
	// continuation and the resubmit pass it issues: spending them asks
	// again that this passkey is still enrolled (FactorCheck). Empty for
	// another factor, and in a token sealed by a release before.
	Passkey []byte    `json:"pk,omitempty"`
	Issued  time.Time `json:"iat"`
}

// Ref returns the held-store reference the state carries.
func (s State) Ref() Ref { return Ref{Handle: s.Handle, Key: s.Key} }

// Sealer is the part of *tokens.Keyset the issuer uses. A Caddy module that
// rotates keys can pass a wrapper that forwards to the current keyset.
type Sealer interface {
	Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error)
	Open(purpose, token string, now time.Time, dst any) error
}

// Token purposes: distinct so a token minted for one step cannot be
// replayed as another.
const (
	PurposeState    = "stepup"
	PurposeContinue = "continue"
	PurposePass     = "resubmit"
)

// Defaults and bounds for Config.
const (
	DefaultStateTTL    = 5 * time.Minute
	MinStateTTL        = 30 * time.Second
	MaxStateTTL        = 15 * time.Minute
	DefaultContinueTTL = time.Minute
	MinContinueTTL     = 5 * time.Second
	MaxContinueTTL     = 5 * time.Minute
	DefaultPassTTL     = 2 * time.Minute
	// MaxTokenBytes keeps a token inside one cookie (browsers drop cookies
	// over 4096 bytes, name and attributes included).
	MaxTokenBytes = 3800
)

// Config configures an Issuer.
type Config struct {
	// Keys seals and opens tokens. Required.
	Keys Sealer
	// Used records spent tokens; share it across reloads (and, with a
	// shared implementation, across instances). Default: a new UsedSet of
	// DefaultUsedSetSize.
	Used SpentSet
	// StateTTL is how long the user has to pass the factor (default 5m,
	// MinStateTTL to MaxStateTTL).
	StateTTL time.Duration
	// ContinueTTL is the lifetime of the continuation cookie (default 1m,
	// MinContinueTTL to MaxContinueTTL): it only has to survive one
	// redirect.
	ContinueTTL time.Duration
	// MaxFailures is how many refused factors a state allows before it is
	// spent (default DefaultMaxFailures, at most MaxMaxFailures).
	MaxFailures int
	// Failures counts them; share it across reloads (and, with a shared
	// implementation, across instances). Default: a new FailureSet.
	Failures FailureCounter
	// PassTTL is how long a resubmit pass waits for the new POST (default 2m).
	PassTTL time.Duration
	// IPPrefix binds tokens to the client's address prefix.
	IPPrefix IPPrefix
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Issuer issues and checks step-up, continuation and pass tokens.
type Issuer struct {
	cfg Config
}

// NewIssuer checks cfg and fills in defaults.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.Keys == nil {
		return nil, errors.New("stepup: no token keys")
	}
	if cfg.Used == nil {
		cfg.Used = NewUsedSet(0)
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = DefaultStateTTL
	}
	if cfg.ContinueTTL <= 0 {
		cfg.ContinueTTL = DefaultContinueTTL
	}
	if cfg.PassTTL <= 0 {
		cfg.PassTTL = DefaultPassTTL
	}
	if cfg.StateTTL < MinStateTTL || cfg.StateTTL > MaxStateTTL {
		return nil, fmt.Errorf("stepup: state lifetime %v outside %v to %v", cfg.StateTTL, MinStateTTL, MaxStateTTL)
	}
	if cfg.ContinueTTL < MinContinueTTL || cfg.ContinueTTL > MaxContinueTTL {
		return nil, fmt.Errorf("stepup: continuation lifetime %v outside %v to %v", cfg.ContinueTTL, MinContinueTTL, MaxContinueTTL)
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.MaxFailures > MaxMaxFailures {
		return nil, fmt.Errorf("stepup: at most %d failed factors per state", MaxMaxFailures)
	}
	if cfg.Failures == nil {
		cfg.Failures = NewFailureSet(0)
	}
	cfg.IPPrefix = cfg.IPPrefix.withDefaults()
	if err := cfg.IPPrefix.validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{cfg: cfg}, nil
}

// StateTTL is the configured state lifetime, for the cookie's Max-Age.
func (is *Issuer) StateTTL() time.Duration { return is.cfg.StateTTL }

// ContinueTTL is the continuation lifetime, for the cookie's Max-Age.
func (is *Issuer) ContinueTTL() time.Duration { return is.cfg.ContinueTTL }

// PassTTL is the pass lifetime, for the cookie's Max-Age.
func (is *Issuer) PassTTL() time.Duration { return is.cfg.PassTTL }

// Challenge is what the Caddy module knows when it decides to challenge.
type Challenge struct {
	Binding
	Reasons      []string
	Correlations []rules.Correlation
	// AccountID is the portal's account id, when known.
	AccountID string
	Phase     Phase
	// Return is the login URL the completion redirects to: a same-origin
	// absolute path (query allowed), or with Domain an https URL on a host
	// within it.
	Return string
	// Domain is the cookie domain the login's host and the step-up's share
	// (step_up_cookie_domain), when the step-up is on another host: the
	// step-up route then sets the continuation under it, and the
	// completion goes back to the login's host.
	Domain string
	// Host is the Host of the login request: recorded so that a step-up
	// route of another site in the same Caddy cannot finish the state.
	Host string
	// Held is the entry Put in the Held store; empty for PhaseResubmit
	// (a fresh handle is drawn).
	Held Ref
	// Operation: the request challenged is an operation, not a sign-in.
	Operation bool
}

// Issue seals a new step-up state for c. When the state with every
// correlation detail would not fit a cookie, the details are dropped (the
// engine ids stay); if it still does not fit, Issue fails.
func (is *Issuer) Issue(c Challenge) (string, State, error) {
	switch c.Phase {
	case PhaseBefore, PhaseAfter:
		if c.Held.Handle == "" || len(c.Held.Key) != heldKeyLen {
			return "", State{}, fmt.Errorf("stepup: phase %q needs a held entry", c.Phase)
		}
	case PhaseResubmit:
		if c.Held.Handle != "" {
			return "", State{}, errors.New("stepup: resubmit holds nothing")
		}
	default:
		return "", State{}, fmt.Errorf("stepup: unknown phase %q", c.Phase)
	}
	if err := validateReturn(c.Return, c.Domain); err != nil {
		return "", State{}, fmt.Errorf("stepup: return URL: %w", err)
	}
	pfx, ok := is.cfg.IPPrefix.prefixOf(c.IP)
	if !ok {
		return "", State{}, errors.New("stepup: no valid client IP")
	}
	now := is.cfg.Now()
	st := State{
		User: c.User, Route: c.Route, IPPrefix: pfx, UAHash: AgentHash(c.UserAgent),
		Reasons: c.Reasons, Correlations: c.Correlations, AccountID: c.AccountID,
		Handle: c.Held.Handle, Key: c.Held.Key, Phase: c.Phase, Return: c.Return,
		StepUp: c.StepUp, Domain: c.Domain, Host: placeHost(c.Host), Operation: c.Operation, Issued: now.UTC().Truncate(time.Second),
	}
	if st.Handle == "" {
		h, err := NewHandle()
		if err != nil {
			return "", State{}, err
		}
		st.Handle = h
	}
	tok, err := is.seal(PurposeState, st, now, is.cfg.StateTTL)
	if errors.Is(err, errTooLarge) && hasDetails(st.Correlations) {
		st.Correlations = withoutDetails(st.Correlations)
		tok, err = is.seal(PurposeState, st, now, is.cfg.StateTTL)
	}
	if err != nil {
		return "", State{}, err
	}
	return tok, st, nil
}

var errTooLarge = fmt.Errorf("stepup: token over %d bytes", MaxTokenBytes)

func (is *Issuer) seal(purpose string, st State, now time.Time, ttl time.Duration) (string, error) {
	tok, err := is.cfg.Keys.Seal(purpose, st, now, ttl)
	if err != nil {
		return "", err
	}
	if len(tok) > MaxTokenBytes {
		return "", errTooLarge
	}
	return tok, nil
}

func hasDetails(cs []rules.Correlation) bool {
	for _, c := range cs {
		if len(c.Detail) > 0 {
			return true
		}
	}
	return false
}

func withoutDetails(cs []rules.Correlation) []rules.Correlation {
	out := make([]rules.Correlation, len(cs))
	for i, c := range cs {
		out[i] = rules.Correlation{Engine: c.Engine, ID: c.ID}
	}
	return out
}

// Verify opens a step-up state and checks it against the client, without
// using it up: the step-up page and passkey endpoints call it. A spent
// state is refused as replayed.
func (is *Issuer) Verify(token string, b Binding) (State, error) {
	return is.open(PurposeState, token, b, false, false)
}

// Redeem verifies a state and spends it: the completion calls it once the
// factor passed. A second Redeem of the same state is refused (replayed).
func (is *Issuer) Redeem(token string, b Binding) (State, error) {
	st, err := is.open(PurposeState, token, b, false, false)
	if err != nil {
		return State{}, err
	}
	if err := is.spend(PurposeState, st.Handle, MaxStateTTL); err != nil {
		return State{}, err
	}
	return st, nil
}

// open decrypts a token and runs the binding checks in a fixed order, so
// the reason reported for a token failing several is predictable.
func (is *Issuer) open(purpose, token string, b Binding, strictRoute, strictUser bool) (State, error) {
	if token == "" {
		return State{}, refused(ReasonMissing)
	}
	now := is.cfg.Now()
	var st State
	if err := is.cfg.Keys.Open(purpose, token, now, &st); err != nil {
		var te *tokens.Error
		if errors.As(err, &te) && te.Reason == "expired" {
			return State{}, refused(ReasonExpired)
		}
		return State{}, refused(ReasonTampered)
	}
	if st.Handle == "" {
		return State{}, refused(ReasonTampered)
	}
	// unchecked: the shared store could not say whether the token was
	// spent (or its factors exhausted). It is refused all the same, after
	// the binding checks: only a token that would otherwise open here is
	// told to come again, not one of another client.
	var unchecked error
	switch seen, err := is.cfg.Used.Seen(purpose+":"+st.Handle, now); {
	case err != nil:
		unchecked = refused(ReasonStoreUnavailable)
	case seen:
		return State{}, refused(ReasonReplayed)
	}
	// A state that has seen its refused factors is spent, and the spent
	// set says so; but a spent set that was full could not record it, so
	// the count is asked too: the guesses stay bounded either way.
	if purpose == PurposeState && unchecked == nil {
		if err := is.exhausted(st.Handle, now); ReasonOf(err) == ReasonStoreUnavailable {
			unchecked = err
		} else if err != nil {
			return State{}, err
		}
	}
	if (strictRoute || b.Route != "") && b.Route != st.Route {
		return State{}, refused(ReasonRouteMismatch)
	}
	if (strictUser || b.User != "") && b.User != st.User {
		return State{}, refused(ReasonUserMismatch)
	}
	if b.LoginHost != "" && placeHost(b.LoginHost) != st.Host {
		return State{}, refused(ReasonHostMismatch)
	}
	if b.StepUp != "" && st.StepUp != "" {
		if reason := stepUpRefusal(st, b.StepUp); reason != "" {
			return State{}, refused(reason)
		}
	}
	if !ipWithin(st.IPPrefix, b.IP) {
		return State{}, refused(ReasonIPMismatch)
	}
	if AgentHash(b.UserAgent) != st.UAHash {
		return State{}, refused(ReasonAgentMismatch)
	}
	if unchecked != nil {
		return State{}, unchecked
	}
	return st, nil
}

// spend marks purpose:handle used until no token of that purpose issued
// now or earlier can still open. Callers pass the longest lifetime any
// config may give such a token, so a reload that shortens it cannot let
// a spent token open again. A token that could not be recorded is
// refused: ReasonStoreUnavailable when the shared store could not be
// asked (the token may be sent again), ReasonReplayFull when the set had
// no room.
func (is *Issuer) spend(purpose, handle string, ttl time.Duration) error {
	now := is.cfg.Now()
	ok, err := is.cfg.Used.Mark(purpose+":"+handle, now.Add(ttl+time.Second), now)
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		return refused(ReasonStoreUnavailable)
	case err != nil:
		return refused(ReasonReplayFull)
	case !ok:
		return refused(ReasonReplayed)
	}
	return nil
}

// NewHandle draws a random 128-bit handle.
func NewHandle() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
