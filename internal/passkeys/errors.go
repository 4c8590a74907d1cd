package passkeys

import (
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
)

// Refusal reasons: stable, low-cardinality values for audit lines and
// metric labels.
const (
	ReasonEnrolDuringChallenge = "enrol_during_challenge"
	ReasonEnrolChallengedLogin = "enrol_challenged_login"
	ReasonEnrolNotAccepted     = "enrol_upstream_not_accepted"
	ReasonEnrolStaleSession    = "enrol_session_stale"
	ReasonEnrolTokenInvalid    = "enrol_token_invalid"
	ReasonEnrolTokenSpent      = "enrol_token_spent"
	ReasonEnrolUserConflict    = "enrol_user_conflict"
	ReasonEnrolNoProof         = "enrol_no_proof"
	// ReasonEnrolNeedsPasskey: the account already has a passkey, and a
	// sign-in alone does not add another: one of them must confirm it.
	ReasonEnrolNeedsPasskey = "enrol_needs_passkey"
	// ReasonEnrolNeedsLink: an admin removed the account's last passkey
	// (or its LoginID record, leaving it with no passkey), so a sign-in
	// alone does not enrol it again: an enrolment link must.
	ReasonEnrolNeedsLink = "enrol_needs_link"
	// ReasonEnrolLoginIDNeedsLink: the account has no passkey but a
	// LoginID record (its LoginID credential, registered under the
	// enrolment rule or imported), so a sign-in alone does not add a
	// passkey beside it, as it would not add a second passkey: the guard
	// cannot ask the LoginID credential to confirm, so an enrolment link
	// must.
	ReasonEnrolLoginIDNeedsLink = "enrol_loginid_needs_link"
	// ReasonEnrolConfirmRemoved and ReasonEnrolConfirmCloneWarning: the
	// passkey that made the confirmation a sign-in presents was removed
	// (the admin API), or marked as possibly cloned, since: the
	// confirmation no longer adds a passkey (NeedsConfirmation).
	ReasonEnrolConfirmRemoved      = "enrol_confirm_credential_removed"
	ReasonEnrolConfirmCloneWarning = "enrol_confirm_clone_warning"
	ReasonCeremonyUnknown          = "ceremony_unknown"
	ReasonCeremonyMismatch         = "ceremony_mismatch"
	ReasonBodyTooLarge             = "body_too_large"
	// ReasonInvalidResponse: the response was read and did not verify
	// (signature, challenge, origin, RP ID, attestation).
	ReasonInvalidResponse = "invalid_response"
	// ReasonMalformed: the body is not a WebAuthn response at all (JSON,
	// CBOR or base64 that does not parse); nothing was verified.
	ReasonMalformed           = "malformed_response"
	ReasonNoCredentials       = "no_credentials"
	ReasonTooManyCredentials  = "too_many_credentials"
	ReasonDuplicateCredential = "duplicate_credential"
	ReasonCloneWarning        = "clone_warning"
	// ReasonCredentialRemoved: the passkey a step-up passed with was
	// removed (the admin API) before the step-up was completed.
	ReasonCredentialRemoved = "credential_removed"
	// ReasonBusy: the client already has its share of ceremonies in
	// flight (or the server is at its bound); try again shortly.
	ReasonBusy = "busy"
)

// NeedsConfirmation reports whether err refused an enrolment because
// the account has a passkey and none of them (still) confirms it: a
// sign-in alone, or with a confirmation whose passkey was removed or
// marked since. A fresh confirmation with one of the account's passkeys
// (BeginConfirm, FinishConfirm) allows it.
func NeedsConfirmation(err error) bool {
	switch ReasonOf(err) {
	case ReasonEnrolNeedsPasskey, ReasonEnrolConfirmRemoved, ReasonEnrolConfirmCloneWarning:
		return true
	}
	return false
}

// ErrRefused is wrapped by every *Error.
var ErrRefused = errors.New("passkey refused")

// Error is a refusal with its reason. Error() gives the reason and, for a
// WebAuthn verification failure, go-webauthn's short description (never
// its debug info, which echoes challenges).
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string {
	msg := "passkey refused: " + e.Reason
	var pe *protocol.Error
	if errors.As(e.Err, &pe) && pe.Details != "" {
		msg += ": " + pe.Details
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrRefused) and errors.As to the
// go-webauthn error both work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Err}
}

func refused(reason string, err error) error { return &Error{Reason: reason, Err: err} }

// ReasonOf returns the refusal reason of err, or "" for an internal error
// (storage, randomness) that is not the client's doing.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
