package counter

import (
	"context"
	"time"
)

// Key names one counter: the rule that owns it and the normalised subject
// it counts (an address prefix, a user name, both, a device hash). Two
// rules never share a counter because their Rule ids differ.
type Key struct {
	// Rule is the owning rule's stable id, e.g. "login/rate_ip_user".
	Rule string
	// Subject is the normalised key value, e.g. "ip=203.0.113.7/32 user=jlopez".
	Subject string
}

// Lockout describes a failure counter: Limit failures inside Window lock
// the key for LockFor. Hold bounds how long an in-flight reservation
// (an attempt that passed the check and has not been settled) counts
// against the limit when its Settle never comes.
type Lockout struct {
	Limit   int
	Window  time.Duration
	LockFor time.Duration
	Hold    time.Duration
}

// Result is the answer to one check-and-record operation.
type Result struct {
	// Allowed is true when the event was recorded within the limit.
	Allowed bool
	// Full is true when the key was not held and no room could be made:
	// nothing was recorded and the caller's on_full policy applies.
	Full bool
	// Locked is true when a lockout key is locked (as opposed to being at
	// its limit because of in-flight reservations).
	Locked bool
	// Count is the number of events in the window after this operation:
	// hits, distinct values, or failures plus in-flight reservations.
	Count int
	// RetryAfter, on a refusal, is when the next event could be allowed
	// if nothing else happened.
	RetryAfter time.Duration
	// Token identifies a reservation made by Reserve; pass it to Settle.
	// Zero when nothing was reserved.
	Token int64
}

// Settlement is how an attempt that passed a lockout check ended.
type Settlement uint8

const (
	// Release gives the reservation back: the attempt never reached the
	// upstream or its answer was neither a success nor a failure.
	Release Settlement = iota
	// Failure records a failed login; reaching the limit locks the key.
	Failure
	// Success forgets the key's failures and lifts its lock.
	Success
)

// Store is the counter backend. Implementations must make each method
// atomic for its key: the check and the record happen together.
type Store interface {
	// Take records one hit for k unless limit hits already fall inside
	// the sliding window. A refused hit is not recorded, so a client that
	// backs off is let in exactly when its oldest hit leaves the window.
	Take(ctx context.Context, k Key, limit int, window time.Duration) (Result, error)
	// TakeDistinct records value under k unless it is new and limit
	// distinct values were already seen inside the window. A value seen
	// before only refreshes its time.
	TakeDistinct(ctx context.Context, k Key, value string, limit int, window time.Duration) (Result, error)
	// Reserve checks a lockout key and, when it is neither locked nor at
	// its limit (failures plus in-flight reservations), reserves a slot
	// for the attempt so that concurrent attempts cannot overshoot.
	Reserve(ctx context.Context, k Key, l Lockout) (Result, error)
	// PeekLockout reports whether a lockout key is locked now, recording
	// and reserving nothing, and creating no key: Locked and RetryAfter
	// (how long the lock still holds) are set when it is, Allowed when it
	// is not; Count is left zero. In-flight reservations do not count, as
	// the attempt asking takes no slot: it re-checks an attempt already
	// counted (a held login replayed after its step-up).
	PeekLockout(ctx context.Context, k Key, l Lockout) (Result, error)
	// Settle ends an attempt checked by Reserve: token (zero if none was
	// reserved) is released and the settlement recorded. It reports
	// whether a failure could be recorded (false when the store was full).
	Settle(ctx context.Context, k Key, l Lockout, token int64, s Settlement) (bool, error)
	// List returns up to max held entries matching f, for an admin view.
	List(ctx context.Context, f Filter, max int) ([]Entry, error)
	// Clear forgets every entry matching f and returns how many it forgot
	// (a user calling support gets their lockout lifted).
	Clear(ctx context.Context, f Filter) (int, error)
	// Stats describes the store's size, for metrics.
	Stats() Stats
}
