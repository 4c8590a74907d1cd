package stepup

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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
// When the backend also implements HeldShares, the per-client and per-user
// caps (SetCaps, defaults as for Held) hold across every instance, counted
// over entries put in the last TTL: an entry taken early still counts
// until its TTL would have ended. Otherwise only the backend's memory and
// the TTL bound what one client can hold.
type SharedHeld struct {
	b   HeldBackend
	ttl atomic.Int64 // time.Duration

	mu                         sync.Mutex
	clientEntries, userEntries int
	clientBytes                int64

	puts, taken, missed, refused atomic.Uint64
}

// NewSharedHeld returns a shared store whose entries live ttl (default
// DefaultHeldTTL).
func NewSharedHeld(b HeldBackend, ttl time.Duration) *SharedHeld {
	if ttl <= 0 {
		ttl = DefaultHeldTTL
	}
	h := &SharedHeld{b: b, clientEntries: DefaultHeldClientEntries, clientBytes: DefaultHeldClientBytes, userEntries: DefaultHeldUserEntries}
	h.ttl.Store(int64(ttl))
	return h
}

// HeldShares is an optional HeldBackend extension that counts what each
// client and user put, across every instance, so the caps apply to the
// shared store too.
type HeldShares interface {
	// Admit records an entry of size bytes for o, counted for ttl, unless
	// that would put o's client over clientEntries entries or clientBytes
	// bytes, or o's user over userEntries entries, within the last ttl:
	// then it records nothing and returns false. Empty owner parts are
	// not counted.
	Admit(o Owner, handle string, size int64, clientEntries int, clientBytes int64, userEntries int, ttl time.Duration) (bool, error)
}

// SetTTL implements HeldStore.
func (h *SharedHeld) SetTTL(d time.Duration) {
	if d > 0 {
		h.ttl.Store(int64(d))
	}
}

// SetCaps implements HeldStore: zero values keep the current caps.
func (h *SharedHeld) SetCaps(clientEntries int, clientBytes int64, userEntries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if clientEntries > 0 {
		h.clientEntries = clientEntries
	}
	if clientBytes > 0 {
		h.clientBytes = clientBytes
	}
	if userEntries > 0 {
		h.userEntries = userEntries
	}
}

// PutRequest implements HeldStore.
func (h *SharedHeld) PutRequest(o Owner, r Request) (Ref, error) { return h.put(o, kindRequest, r) }

// PutResponse implements HeldStore.
func (h *SharedHeld) PutResponse(o Owner, r Response) (Ref, error) { return h.put(o, kindResponse, r) }

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

func (h *SharedHeld) put(o Owner, kind entryKind, v any) (Ref, error) {
	handle, key, sealed, err := sealValue(kind, v)
	if err != nil {
		return Ref{}, err
	}
	ttl := time.Duration(h.ttl.Load())
	if sh, ok := h.b.(HeldShares); ok && (o.Client != "" || o.User != "") {
		h.mu.Lock()
		ce, cb, ue := h.clientEntries, h.clientBytes, h.userEntries
		h.mu.Unlock()
		ok, err := sh.Admit(o, handle, int64(len(sealed)+len(handle)), ce, cb, ue, ttl)
		if err != nil {
			return Ref{}, fmt.Errorf("stepup: counting held entries: %w", err)
		}
		if !ok {
			h.refused.Add(1)
			return Ref{}, refused(ReasonHeldFull)
		}
	}
	if err := h.b.Store(handle, sealed, ttl); err != nil {
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
	return HeldStats{Puts: h.puts.Load(), Taken: h.taken.Load(), Missed: h.missed.Load(), Refused: h.refused.Load()}
}

// Destruct implements HeldStore: the entries belong to every instance and
// expire on their own.
func (h *SharedHeld) Destruct() error { return nil }

var _ HeldStore = (*SharedHeld)(nil)
