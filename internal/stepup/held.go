package stepup

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Request is a login request kept while the user passes the second factor,
// replayed to the upstream once they did.
type Request struct {
	Method string      `json:"m"`
	URL    string      `json:"u"` // request URI: path and query
	Header http.Header `json:"h"`
	Body   []byte      `json:"b"`
}

// Response is an upstream answer withheld by an after-upstream challenge,
// released (Set-Cookie included) once the factor passed.
type Response struct {
	Status int         `json:"s"`
	Header http.Header `json:"h"`
	Body   []byte      `json:"b"`
}

// Ref names a held entry and opens it. The Key is never kept by the store:
// it travels only inside the encrypted state and continuation tokens, so a
// dump of the store's memory reveals no password and no session cookie.
type Ref struct {
	Handle string
	Key    []byte
}

type entryKind string

const (
	kindRequest  entryKind = "request"
	kindResponse entryKind = "response"
)

// Defaults for HeldConfig.
const (
	DefaultHeldTTL        = 5 * time.Minute
	DefaultHeldMaxEntries = 1000
	DefaultHeldMaxBytes   = 32 << 20
)

// ErrHeldTooLarge is returned by Put for an entry bigger than the whole store.
var ErrHeldTooLarge = errors.New("stepup: held entry larger than the store")

// HeldConfig bounds a Held store.
type HeldConfig struct {
	MaxEntries int           // default 1000
	MaxBytes   int64         // default 32 MiB, ciphertext and handles counted
	TTL        time.Duration // default 5m; match the state TTL
	Now        func() time.Time
}

// HeldStats are the store's counters, for metrics.
type HeldStats struct {
	Entries int
	Bytes   int64
	Puts    uint64
	Taken   uint64
	Expired uint64 // dropped at their TTL, never taken
	Evicted uint64 // pushed out by the entry or byte bound before their TTL
	Missed  uint64 // Take of an unknown, expired or evicted handle
}

// Held keeps requests and responses under random handles for a few minutes.
// It is bounded by entries and bytes; when full, the oldest entry goes
// first. One instance per Caddy process (share it through a
// caddy.UsagePool); entries do not survive a restart.
type Held struct {
	cfg HeldConfig

	mu      sync.Mutex
	byID    map[string]*list.Element
	order   *list.List // oldest first; TTL is fixed, so this is expiry order
	bytes   int64
	puts    uint64
	taken   uint64
	expired uint64
	evicted uint64
	missed  uint64
}

type heldEntry struct {
	handle  string
	kind    entryKind
	sealed  []byte
	expires time.Time
}

func (e *heldEntry) size() int64 { return int64(len(e.sealed) + len(e.handle)) }

// NewHeld makes a store with cfg's bounds (defaults for zero values).
func NewHeld(cfg HeldConfig) *Held {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultHeldMaxEntries
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultHeldMaxBytes
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultHeldTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Held{cfg: cfg, byID: map[string]*list.Element{}, order: list.New()}
}

// PutRequest encrypts and keeps a login request; the Ref goes in the state.
func (h *Held) PutRequest(r Request) (Ref, error) { return h.put(kindRequest, r) }

// PutResponse encrypts and keeps a withheld upstream response.
func (h *Held) PutResponse(r Response) (Ref, error) { return h.put(kindResponse, r) }

// TakeRequest returns the request held under ref and forgets it (one use).
func (h *Held) TakeRequest(ref Ref) (Request, error) {
	var r Request
	err := h.take(ref, kindRequest, &r)
	return r, err
}

// TakeResponse returns the response held under ref and forgets it.
func (h *Held) TakeResponse(ref Ref) (Response, error) {
	var r Response
	err := h.take(ref, kindResponse, &r)
	return r, err
}

func (h *Held) put(kind entryKind, v any) (Ref, error) {
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
	e := &heldEntry{handle: handle, kind: kind, sealed: sealed}
	if e.size() > h.cfg.MaxBytes {
		return Ref{}, ErrHeldTooLarge
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	h.purge(now)
	for h.order.Len() >= h.cfg.MaxEntries || h.bytes+e.size() > h.cfg.MaxBytes {
		h.remove(h.order.Front())
		h.evicted++
	}
	e.expires = now.Add(h.cfg.TTL)
	h.byID[handle] = h.order.PushBack(e)
	h.bytes += e.size()
	h.puts++
	return Ref{Handle: handle, Key: key}, nil
}

func (h *Held) take(ref Ref, kind entryKind, dst any) error {
	h.mu.Lock()
	now := h.cfg.Now()
	h.purge(now)
	el, ok := h.byID[ref.Handle]
	if !ok {
		h.missed++
		h.mu.Unlock()
		return refused(ReasonHeldMissing)
	}
	e := h.remove(el)
	h.taken++
	h.mu.Unlock()

	plain, ok := openEntry(ref.Key, e.handle, kind, e.sealed)
	if !ok {
		return refused(ReasonHeldCorrupt)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, dst); err != nil {
		return refused(ReasonHeldCorrupt)
	}
	return nil
}

// purge drops entries past their TTL. Entries are in insertion order and
// share one TTL, so the expired ones are at the front.
func (h *Held) purge(now time.Time) {
	for el := h.order.Front(); el != nil; el = h.order.Front() {
		if now.Before(el.Value.(*heldEntry).expires) {
			return
		}
		h.remove(el)
		h.expired++
	}
}

func (h *Held) remove(el *list.Element) *heldEntry {
	e := h.order.Remove(el).(*heldEntry)
	delete(h.byID, e.handle)
	h.bytes -= e.size()
	return e
}

// Has reports whether an unexpired entry is held under handle, so the
// completion can send the user back to log in again at once instead of
// redirecting to a continuation that would find nothing.
func (h *Held) Has(handle string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.purge(h.cfg.Now())
	_, ok := h.byID[handle]
	return ok
}

// Stats returns the counters, after dropping expired entries.
func (h *Held) Stats() HeldStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.purge(h.cfg.Now())
	return HeldStats{
		Entries: h.order.Len(), Bytes: h.bytes, Puts: h.puts, Taken: h.taken,
		Expired: h.expired, Evicted: h.evicted, Missed: h.missed,
	}
}

// Destruct forgets every entry; it lets a caddy.UsagePool release the store.
func (h *Held) Destruct() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byID = map[string]*list.Element{}
	h.order.Init()
	h.bytes = 0
	return nil
}
