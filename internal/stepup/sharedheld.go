package stepup

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrHeldGone is what a HeldBackend's Take returns for a handle it does
// not hold (never stored, expired, or already taken).
var ErrHeldGone = errors.New("stepup: held entry gone")

// HeldBackend stores sealed entries for SharedHeld. Take must be atomic
// and once: of concurrent Takes of one handle, on any instance, exactly
// one gets the bytes, so a held login reaches the portal once.
type HeldBackend interface {
	Store(handle string, sealed []byte, ttl time.Duration) error
	Take(handle string) ([]byte, error)
	Has(handle string) (bool, error)
}

// SharedHeld is a HeldStore on a HeldBackend shared by every instance.
// Entries are sealed here, under a fresh key per entry that only the
// Ref carries, before they leave the process. Bounds are the backend's
// (Redis's maxmemory) and the TTL; a full backend refuses the Put.
//
// The per-owner caps of the in-process Held (SetCaps) are not applied
// here: the shared store is bounded by the backend's memory and the TTL.
type SharedHeld struct {
	b   HeldBackend
	ttl atomic.Int64 // time.Duration

	puts, taken, missed atomic.Uint64
}

// NewSharedHeld returns a shared store whose entries live ttl (default
// DefaultHeldTTL).
func NewSharedHeld(b HeldBackend, ttl time.Duration) *SharedHeld {
	if ttl <= 0 {
		ttl = DefaultHeldTTL
	}
	h := &SharedHeld{b: b}
	h.ttl.Store(int64(ttl))
	return h
}

// SetTTL implements HeldStore.
func (h *SharedHeld) SetTTL(d time.Duration) {
	if d > 0 {
		h.ttl.Store(int64(d))
	}
}

// SetCaps implements HeldStore; the shared store has no per-owner caps.
func (h *SharedHeld) SetCaps(int, int64, int) {}

// PutRequest implements HeldStore.
func (h *SharedHeld) PutRequest(_ Owner, r Request) (Ref, error) { return h.put(kindRequest, r) }

// PutResponse implements HeldStore.
func (h *SharedHeld) PutResponse(_ Owner, r Response) (Ref, error) { return h.put(kindResponse, r) }

// TakeRequest implements HeldStore.
func (h *SharedHeld) TakeRequest(ref Ref) (Request, error) {
	var r Request
	err := h.take(ref, kindRequest, &r)
	return r, err
}

// TakeResponse implements HeldStore.
func (h *SharedHeld) TakeResponse(ref Ref) (Response, error) {
	var r Response
	err := h.take(ref, kindResponse, &r)
	return r, err
}

func (h *SharedHeld) put(kind entryKind, v any) (Ref, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return Ref{}, fmt.Errorf("stepup: encoding held entry: %w", err)
	}
	handle, err := NewHandle()
	if err != nil {
		return Ref{}, err
	}
	key, sealed, err := sealEntry(handle, kind, plain)
	clear(plain)
	if err != nil {
		return Ref{}, err
	}
	if err := h.b.Store(handle, sealed, time.Duration(h.ttl.Load())); err != nil {
		return Ref{}, fmt.Errorf("stepup: keeping held entry: %w", err)
	}
	h.puts.Add(1)
	return Ref{Handle: handle, Key: key}, nil
}

func (h *SharedHeld) take(ref Ref, kind entryKind, dst any) error {
	sealed, err := h.b.Take(ref.Handle)
	if errors.Is(err, ErrHeldGone) {
		h.missed.Add(1)
		return refused(ReasonHeldMissing)
	}
	if err != nil {
		// The backend failed: the entry may still be there, but this
		// attempt cannot finish.
		return fmt.Errorf("stepup: taking held entry: %w", err)
	}
	h.taken.Add(1)
	plain, ok := openEntry(ref.Key, ref.Handle, kind, sealed)
	if !ok {
		return refused(ReasonHeldCorrupt)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, dst); err != nil {
		return refused(ReasonHeldCorrupt)
	}
	return nil
}

// Has implements HeldStore; a backend error answers true, so the
// completion goes on and the later Take reports the failure.
func (h *SharedHeld) Has(handle string) bool {
	ok, err := h.b.Has(handle)
	return ok || err != nil
}

// Stats implements HeldStore: this instance's counts (the backend holds
// every instance's entries; its own metrics tell their number).
func (h *SharedHeld) Stats() HeldStats {
	return HeldStats{Puts: h.puts.Load(), Taken: h.taken.Load(), Missed: h.missed.Load()}
}

// Destruct implements HeldStore: the entries belong to every instance and
// expire on their own.
func (h *SharedHeld) Destruct() error { return nil }

var _ HeldStore = (*SharedHeld)(nil)
