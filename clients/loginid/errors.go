package loginid

import (
	"errors"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// Sub-reasons an *Error carries. They are stable, low-cardinality
// identifiers meant for metric labels and audit lines; they never contain
// token, user or key material.
const (
	SubMalformed       = "malformed"          // not a compact JWS, too long, undecodable claims
	SubAlgNotAllowed   = "alg_not_allowed"    // header alg is not the configured one (none, HS256, ...)
	SubCritHeader      = "crit_header"        // header lists critical extensions we do not implement
	SubMissingKID      = "missing_kid"        // header has no kid
	SubInvalidKID      = "invalid_kid"        // kid fails the length/charset check
	SubUnknownKID      = "unknown_kid"        // no key for kid (host said so, or a fetch was not allowed now while the host answers)
	SubKeyUnavailable  = "key_unavailable"    // key host failed (this fetch, or the last one when this one was not allowed) and the kid is not cached
	SubBadSignature    = "bad_signature"      // signature does not verify with the kid's key
	SubMissingExp      = "missing_exp"        // no exp claim
	SubMissingIat      = "missing_iat"        // no iat claim
	SubExpired         = "expired"            // exp (plus skew) has passed
	SubNotYetValid     = "not_yet_valid"      // nbf (minus skew) is still ahead
	SubIatFuture       = "iat_future"         // iat is ahead of now by more than the skew
	SubTooOld          = "too_old"            // iat + max_age (plus skew) has passed
	SubWrongIssuer     = "wrong_issuer"       // iss differs from Config.Issuer
	SubWrongAudience   = "wrong_audience"     // aud does not name Config.ClientID
	SubWrongNamespace  = "wrong_namespace"    // namespace claim differs from Config.Namespace
	SubRegistration    = "registration_token" // a registration result, not an authentication
	SubWrongType       = "wrong_type"         // type claim missing or not an authentication type
	SubMissingUser     = "missing_user"       // no user claim in the token, or no expected user given
	SubWrongUser       = "wrong_user"         // token user is not byte-equal to the expected user
	SubReplayed        = "replayed"           // nonce (or token hash) already seen
	SubReplayCacheFull = "replay_cache_full"  // the replay cache is full: refused rather than unchecked
	// SubReplayUserLimit: the token's user (its name as signed) already
	// holds Config.ReplayPerUser of the replay cache's unexpired entries
	// (one account minting tokens as fast as it can). Refused for that
	// user only, not retryable, with its own Reason (ReasonReplayUserLimit).
	SubReplayUserLimit = "replay_user_limit"
	// SubReplayClientLimit: the network the token was sent from (IPv4
	// /24, IPv6 /48) already holds Config.ReplayPerClient of the replay
	// cache's unexpired entries (tokens of many names, or of many
	// spellings of one, from one place). Refused for that network only,
	// not retryable, with its own Reason (ReasonReplayClientLimit).
	SubReplayClientLimit = "replay_client_limit"
	// SubReplayUnavailable: a shared replay cache could not be reached, so
	// the token's first use could not be recorded. Unlike a full cache it
	// is not retryable: a replay check fails closed whatever the route's
	// failure policy, since an unrecorded token could be used again on
	// another instance.
	SubReplayUnavailable = "replay_unavailable"
	SubClosed            = "closed" // Verify called after Close
	// SubNotEnrolled: Config.Enrolled says the token's user has no LoginID
	// credential registered under the guard's enrolment rules (whoever
	// holds the credential may have registered it). Its own Reason,
	// ReasonNotEnrolled.
	SubNotEnrolled = "not_enrolled"
	// SubEnrolmentUnavailable: Config.Enrolled could not answer (storage
	// down); retryable, like a key host that is down.
	SubEnrolmentUnavailable = "enrolment_unavailable"
	// SubAuthentication: VerifyRegistration was given an authentication
	// result, not a registration.
	SubAuthentication = "authentication_token"
)

// ReasonNotEnrolled is the Reason of a token refused with SubNotEnrolled.
const ReasonNotEnrolled = "assertion_not_enrolled"

// ReasonReplayUserLimit is the Reason of a token refused with
// SubReplayUserLimit: a verdict reason of its own, so the refusals of one
// user's flood are told apart from forged tokens in the metrics.
const ReasonReplayUserLimit = "assertion_replay_user_limit"

// ReasonReplayClientLimit is the Reason of a token refused with
// SubReplayClientLimit.
const ReasonReplayClientLimit = "assertion_replay_client_limit"

// Error is the only error type Verify returns. Reason is
// rules.ReasonAssertionInvalid, or one of its own for some Subs
// (ReasonReplayUserLimit, ReasonReplayClientLimit, ReasonNotEnrolled),
// so the Caddy module can add it to a Verdict as is
// (ReasonOf); Sub says why, for audit lines and metrics.
//
// The message is built from the sub-reason alone (plus a transport cause for
// key_unavailable, which can name the key host URL and the kid, never a
// token or a user), so it is safe to log.
type Error struct {
	Reason string
	Sub    string
	// RetryAfter is, for SubReplayUserLimit and SubReplayClientLimit
	// (OverShare), an entry's lifetime (MaxAge + ClockSkew + 1s): by
	// then, give or take the clock skew, the share's oldest entry has
	// expired. Zero otherwise.
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return "loginid: " + e.Reason + ": " + e.Sub + ": " + e.cause.Error()
	}
	return "loginid: " + e.Reason + ": " + e.Sub
}

// Unwrap exposes the transport cause of key_unavailable, if any.
func (e *Error) Unwrap() error { return e.cause }

// Retryable reports whether the same token may verify later: the key host
// was unreachable, the replay cache was full, or Config.Enrolled could not
// answer. The guard should treat
// these like an unavailable engine (its failure policy), not as a forged
// token.
func (e *Error) Retryable() bool {
	return e.Sub == SubKeyUnavailable || e.Sub == SubReplayCacheFull || e.Sub == SubClosed || e.Sub == SubEnrolmentUnavailable
}

// OverShare reports a valid token refused because its user or its
// client network holds its whole share of the replay cache: too many at
// once, which says nothing about who holds the credential.
func (e *Error) OverShare() bool {
	return e.Sub == SubReplayUserLimit || e.Sub == SubReplayClientLimit
}

func fail(sub string) *Error { return &Error{Reason: rules.ReasonAssertionInvalid, Sub: sub} }

func failCause(sub string, cause error) *Error {
	return &Error{Reason: rules.ReasonAssertionInvalid, Sub: sub, cause: cause}
}

// ReasonOf is the verdict reason of an error Verify returned: its
// Reason, or rules.ReasonAssertionInvalid when err is not an *Error.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	return rules.ReasonAssertionInvalid
}

// SubReason extracts the sub-reason from an error Verify returned ("" when
// err is nil or not an *Error).
func SubReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Sub
	}
	return ""
}
