package smileid

import (
	"context"
	"errors"
	"net"
)

// Outcomes of an outbound call, as Report.Outcome gives them. They are
// metric labels, so the set is small and fixed: never a status code, a
// Smile ID error code or a job id.
const (
	// OutcomeOK: Smile ID answered 2xx and the answer was accepted.
	OutcomeOK = "ok"
	// OutcomeTimeout: Timeout passed before the answer was read.
	OutcomeTimeout = "timeout"
	// OutcomeRefused: the connection could not be made or broke (refused,
	// reset, DNS, TLS) before an answer was read.
	OutcomeRefused = "refused"
	// OutcomeCanceled: the caller gave up first (the client went away).
	OutcomeCanceled = "canceled"
	// OutcomeStatus5xx, OutcomeStatus4xx, OutcomeStatusOther: a non-2xx
	// answer (other: neither 4xx nor 5xx, e.g. a redirect, never followed).
	OutcomeStatus5xx   = "status_5xx"
	OutcomeStatus4xx   = "status_4xx"
	OutcomeStatusOther = "status_other"
	// OutcomeMalformed: a 2xx answer that is too large or not the
	// expected shape (an upload answer without an https upload_url, a
	// job-status answer that is not JSON or lacks a result code).
	OutcomeMalformed = "malformed"
	// OutcomeSignature: a job-status answer whose signature does not
	// verify or whose timestamp is unreadable or outside the window.
	OutcomeSignature = "signature"
	// OutcomeMismatch: a signed job-status answer about another job, user
	// or job type.
	OutcomeMismatch = "mismatch"
	// OutcomeError: anything else (the request could not be built).
	OutcomeError = "error"
)

// Outcomes lists every outcome, for documentation and tests.
var Outcomes = []string{OutcomeOK, OutcomeTimeout, OutcomeRefused, OutcomeCanceled, OutcomeStatus5xx, OutcomeStatus4xx,
	OutcomeStatusOther, OutcomeMalformed, OutcomeSignature, OutcomeMismatch, OutcomeError}

// errTransport marks an error of the round trip itself (no answer, or an
// answer whose body could not be read): classified by the call's context.
type errTransport struct{ err error }

func (e errTransport) Error() string { return e.err.Error() }
func (e errTransport) Unwrap() error { return e.err }

// outcome classifies a call's error; ctx is the call's own context (with
// the client's Timeout).
func outcome(ctx context.Context, err error) string {
	if err == nil {
		return OutcomeOK
	}
	var ve *VendorError
	if errors.As(err, &ve) {
		switch {
		case ve.Status >= 500 && ve.Status < 600:
			return OutcomeStatus5xx
		case ve.Status >= 400 && ve.Status < 500:
			return OutcomeStatus4xx
		}
		return OutcomeStatusOther
	}
	var te errTransport
	if errors.As(err, &te) {
		var ne net.Error
		switch {
		case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
			return OutcomeCanceled
		case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			return OutcomeTimeout
		}
		return OutcomeRefused
	}
	switch {
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrStaleTimestamp), errors.Is(err, ErrBadTimestamp):
		return OutcomeSignature
	case errors.Is(err, ErrJobMismatch):
		return OutcomeMismatch
	case errors.Is(err, ErrBadResponse), errors.Is(err, ErrResponseTooLarge):
		return OutcomeMalformed
	}
	return OutcomeError
}
