package stepup

import "time"

// HeldStore keeps sealed held requests and withheld responses under
// handles. *Held keeps them in this process; SharedHeld keeps them in a
// store every instance reaches (HeldBackend), so a step-up started on one
// instance can finish on another. Either way the store holds only
// ciphertext: the key travels in the user's tokens.
type HeldStore interface {
	PutRequest(r Request) (Ref, error)
	PutResponse(r Response) (Ref, error)
	TakeRequest(ref Ref) (Request, error)
	TakeResponse(ref Ref) (Response, error)
	Has(handle string) bool
	Stats() HeldStats
	Destruct() error
}

// SpentSet records spent one-use tokens. *UsedSet is per process; a
// shared implementation makes a token spent on every instance at once.
// Implementations fail closed: Mark returns an error and Seen returns true
// when they cannot tell.
type SpentSet interface {
	// Mark records id as spent until expires: false when it already was.
	Mark(id string, expires, now time.Time) (bool, error)
	// Seen reports whether id is spent and not yet expired.
	Seen(id string, now time.Time) bool
}

var (
	_ HeldStore = (*Held)(nil)
	_ SpentSet  = (*UsedSet)(nil)
)
