package stepup

import "errors"

// Reasons a step-up is refused. They are stable, low-cardinality values for
// audit lines and metric labels; the user sees a generic page whatever the
// reason.
const (
	ReasonMissing       = "missing"        // no token at all
	ReasonExpired       = "expired"        // token past its lifetime
	ReasonTampered      = "tampered"       // token does not open: forged, altered, unknown key, wrong purpose
	ReasonReplayed      = "replayed"       // token already used once
	ReasonIPMismatch    = "ip_mismatch"    // client IP outside the bound prefix
	ReasonAgentMismatch = "agent_mismatch" // User-Agent differs
	ReasonRouteMismatch = "route_mismatch" // used on another route
	ReasonUserMismatch  = "user_mismatch"  // used for another user
	// ReasonStepUpMismatch: finished under another step-up route than the
	// one its login route sent it to.
	ReasonStepUpMismatch = "path_mismatch"
	ReasonReplayFull     = "replay_cache_full"
	ReasonHeldMissing    = "held_missing" // held entry expired, evicted or already taken
	ReasonHeldCorrupt    = "held_corrupt" // held entry does not decrypt with the token's key
	ReasonFactorFailed   = "factor_failed"
	// ReasonFactorsExhausted: the state saw its maximum of refused
	// factors and was spent.
	ReasonFactorsExhausted = "factors_exhausted"
	// ReasonHeldFull: the client or user already holds its share of the
	// held store (or the store is full); nobody else's entry is evicted.
	ReasonHeldFull = "held_full"
	// ReasonHostMismatch: finished on another host than the one its
	// login came to (or, for a step-up on another host, than that host):
	// the step-up route of another site of the same Caddy.
	ReasonHostMismatch = "host_mismatch"
	// ReasonCookieDomain: a state read from the cookie a step-up on
	// another host shares under a domain (__Secure-) that records no
	// such domain: the guard never set it there, a sibling host did.
	ReasonCookieDomain = "cookie_domain_mismatch"
	// ReasonStoreUnavailable: the shared store (store redis) that says
	// whether the token was spent, or counts its state's refused
	// factors, could not be asked. The token is refused but not spent:
	// sent again once the store answers, it is checked then.
	ReasonStoreUnavailable = "store_unavailable"
	// ReasonPasskeyRemoved and ReasonPasskeyCloneWarning: the passkey
	// that passed the step-up's factor (State.Passkey) was removed (the
	// admin API), or marked as possibly cloned, since the completion:
	// its continuation or resubmit pass no longer finishes (FactorCheck).
	ReasonPasskeyRemoved      = "passkey_credential_removed"
	ReasonPasskeyCloneWarning = "passkey_clone_warning"
	// ReasonPasskeyUnavailable: the token names a passkey but the config
	// now has no passkeys to ask.
	ReasonPasskeyUnavailable = "passkey_unavailable"
	// ReasonPasskeyStorageUnavailable: the storage that says whether
	// that passkey is still enrolled did not answer. As for
	// ReasonStoreUnavailable, the token is refused but not spent.
	ReasonPasskeyStorageUnavailable = "passkey_storage_unavailable"
)

// ErrRefused is wrapped by every *Error, for errors.Is.
var ErrRefused = errors.New("step-up refused")

// Error says why a step-up token or held entry was refused. Error() names
// only the reason: never a token, user or key.
type Error struct{ Reason string }

func (e *Error) Error() string { return "step-up refused: " + e.Reason }
func (e *Error) Unwrap() error { return ErrRefused }

func refused(reason string) error { return &Error{Reason: reason} }

// Refused is the refusal for reason, for a FactorCheck to return.
func Refused(reason string) error { return refused(reason) }

// Unspent says whether err refused a one-time token without spending it,
// because a store it needed did not answer: the same request may be sent
// again (ReasonStoreUnavailable, ReasonPasskeyStorageUnavailable).
func Unspent(err error) bool {
	switch ReasonOf(err) {
	case ReasonStoreUnavailable, ReasonPasskeyStorageUnavailable:
		return true
	}
	return false
}

// ReasonOf returns the refusal reason of err, or "" when err is not a
// refusal (an internal error the Caddy module should treat as a failure of its own).
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
