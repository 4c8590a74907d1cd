package stepup

import (
	"errors"
	"time"
)

// HeldStore keeps sealed held requests and withheld responses under
// handles. *Held keeps them in this process; SharedHeld keeps them in a
// store every instance reaches (HeldBackend), so a step-up started on one
// instance can finish on another. Either way the store holds only
// ciphertext: the key travels in the user's tokens.
type HeldStore interface {
	PutRequest(o Owner, r Request) (Ref, error)
	PutResponse(o Owner, r Response) (Ref, error)
	TakeRequest(ref Ref) (Request, error)
	TakeResponse(ref Ref) (Response, error)
	Has(handle string) bool
	Stats() HeldStats
	// SetTTL and SetCaps apply a reloaded config to what is put from now
	// on.
	SetTTL(d time.Duration)
	SetCaps(clientEntries int, clientBytes int64, userEntries int)
	Destruct() error
}

// ErrStoreUnavailable is wrapped by the errors of a shared SpentSet or
// FailureCounter whose store could not be asked (unreachable, timed out,
// not serving). The token is refused without being spent
// (ReasonStoreUnavailable), so the same request may be sent again once
// the store answers. A Mark that failed so may still have been recorded:
// then the token reads as spent when it comes again.
var ErrStoreUnavailable = errors.New("stepup: shared store unavailable")

// SpentSet records spent one-use tokens. *UsedSet is per process; a
// shared implementation makes a token spent on every instance at once.
// Implementations fail closed: Mark returns an error and Seen returns true
// when they cannot tell; the error wraps ErrStoreUnavailable when the
// store could not be asked, and a Mark refused for want of room is any
// other error (ReasonReplayFull).
type SpentSet interface {
	// Mark records id as spent until expires: false when it already was.
	Mark(id string, expires, now time.Time) (bool, error)
	// Seen reports whether id is spent and not yet expired; with an error
	// it could not tell (and says true).
	Seen(id string, now time.Time) (bool, error)
}

// FailureCounter counts refused factors per step-up state. *FailureSet
// is per process; a shared implementation makes the limit hold however
// many instances the guesses are spread over. Implementations fail
// closed: full is true when they cannot count.
type FailureCounter interface {
	// Add counts one failure for handle, remembered until expires, and
	// returns the count so far.
	Add(handle string, expires, now time.Time) (n int, full bool)
	// Count returns handle's count so far (zero once it expired); an
	// error means it cannot be read (wrapping ErrStoreUnavailable when
	// the store could not be asked), or could not be kept (full).
	Count(handle string, now time.Time) (int, error)
	// Forget drops handle's count.
	Forget(handle string)
}

var (
	_ HeldStore      = (*Held)(nil)
	_ SpentSet       = (*UsedSet)(nil)
	_ FailureCounter = (*FailureSet)(nil)
)
