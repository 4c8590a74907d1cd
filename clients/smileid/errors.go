package smileid

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; none of them
// carries the API key, a signature's expected value or an upload URL.
var (
	// Config and input.
	ErrConfig = errors.New("smileid: invalid config")
	ErrInput  = errors.New("smileid: invalid submit request")

	// Signatures and timestamps (callbacks and job-status responses).
	ErrBadTimestamp   = errors.New("smileid: timestamp is not ISO 8601")
	ErrStaleTimestamp = errors.New("smileid: timestamp outside the freshness window")
	ErrBadSignature   = errors.New("smileid: signature does not verify")

	// Callbacks.
	ErrBodyTooLarge     = errors.New("smileid: body exceeds its size cap")
	ErrMalformed        = errors.New("smileid: malformed JSON")
	ErrUnknownJob       = errors.New("smileid: job id not registered, already completed or expired")
	ErrJobMismatch      = errors.New("smileid: partner params do not match the registered job")
	ErrTooManyConfirms  = errors.New("smileid: job-status confirmations for this job exhausted")
	ErrNotAuthenticated = errors.New("smileid: job is not authenticated")

	// Registry.
	ErrRegistryFull = errors.New("smileid: pending-jobs registry full")
	ErrDuplicateJob = errors.New("smileid: job id already registered")
	// ErrStoreUnavailable: a shared Pending could not reach its store, so
	// it cannot say whether the job is there; nothing was changed and the
	// same call may succeed later (never Permanent).
	ErrStoreUnavailable = errors.New("smileid: pending-jobs store unavailable")

	// Vendor exchanges.
	ErrResponseTooLarge = errors.New("smileid: response exceeds its size cap")
	ErrBadResponse      = errors.New("smileid: unexpected response shape")
	// ErrBadJobStatus wraps whatever made Confirm refuse a job-status
	// answer (shape, timestamp, signature, another job): a fault of that
	// answer or of the path to Smile ID, never of the callback that
	// triggered the call, even when the cause is also a callback's
	// sentinel (ErrBadSignature, ErrStaleTimestamp, ErrJobMismatch).
	ErrBadJobStatus = errors.New("smileid: job-status answer refused")
)

// VendorError reports a non-2xx answer from Smile ID. It names the
// operation, the HTTP status and Smile ID's own error code when the body
// carried one ("2205", ...): never the URL (an upload URL is a presigned
// credential) and never the body text.
type VendorError struct {
	Op     Op
	Status int
	Code   string
}

func (e *VendorError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("smileid: %s: HTTP %d, code %s", e.Op, e.Status, e.Code)
	}
	return fmt.Sprintf("smileid: %s: HTTP %d", e.Op, e.Status)
}

// Unauthenticated reports whether HandleCallback refused a body before
// its signature verified: too large, malformed, a timestamp that is not
// ISO 8601, or a signature that does not verify. Anyone can send such a
// callback, so it says nothing about Smile ID and is no cause for a
// warning; every other refusal (a stale timestamp, an unknown job,
// another user, the confirmations used up) came with a pair made with
// the API key.
func Unauthenticated(err error) bool {
	for _, target := range []error{ErrBodyTooLarge, ErrMalformed, ErrBadTimestamp, ErrBadSignature} {
		if errors.Is(err, target) {
			return !errors.Is(err, ErrBadJobStatus)
		}
	}
	return false
}

// Permanent reports whether HandleCallback's error is final for that body
// (a malformed, forged, stale, oversized or unmatched callback, or an
// exhausted confirmation budget), as opposed to a transient failure of
// the job-status call that a retry of the same callback may overcome. The
// Caddy module can answer 4xx to the first and 5xx to the second. A job-status
// answer that was refused (ErrBadJobStatus) is never permanent: its
// signature or timestamp failing says nothing about the callback's, and
// Smile ID's retry may meet a sound answer.
func Permanent(err error) bool {
	if errors.Is(err, ErrBadJobStatus) {
		return false
	}
	for _, target := range []error{
		ErrBodyTooLarge, ErrMalformed, ErrBadTimestamp, ErrStaleTimestamp, ErrBadSignature,
		ErrUnknownJob, ErrJobMismatch, ErrTooManyConfirms,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
