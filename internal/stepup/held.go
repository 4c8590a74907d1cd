package stepup

import (
	"container/list"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Request is a login request kept while the user passes the second factor,
// replayed to the upstream once they did.
type Request struct {
	Method string      `json:"m"`
	URL    string      `json:"u"` // the URI to replay to: path and query after any rewrite before the guard
	Header http.Header `json:"h"`
	Body   []byte      `json:"b"`
	// Operation is an operation's analytics values as the guard resolved
	// them from the request it judged (its mapping's placeholders read
	// that request's headers and query): the replay reports these, not
	// what the empty continuation request would resolve to.
	Operation map[string]string `json:"o,omitempty"`
	// Client is the address the login came from, as Caddy resolved it:
	// the replay is rechecked and its outcome counted under it (the
	// continuation may come from another address of the prefix the state
	// binds). Zero in an entry held by an older version.
	Client netip.Addr `json:"c,omitzero"`
}

// Response is an upstream answer withheld by an after-upstream challenge,
// released (Set-Cookie included) once the factor passed.
type Response struct {
	Status int         `json:"s"`
	Header http.Header `json:"h"`
	Body   []byte      `json:"b"`
	// Client is the address the login whose answer this is came from
	// (see Request.Client).
	Client netip.Addr `json:"c,omitzero"`
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
	// Per-owner shares: one client (address prefix) or one user may hold
	// only this much, so nobody can push anyone else's entries out.
	DefaultHeldClientEntries = 20
	DefaultHeldClientBytes   = 2 << 20
	DefaultHeldUserEntries   = 5
)

// ErrHeldTooLarge is returned by Put for an entry bigger than the whole store.
var ErrHeldTooLarge = errors.New("stepup: held entry larger than the store")

// HeldConfig bounds a Held store.
type HeldConfig struct {
	MaxEntries int           // default 1000
	MaxBytes   int64         // default 32 MiB, ciphertext and handles counted
	TTL        time.Duration // default 5m; match the state TTL
	// ClientEntries and ClientBytes cap what one client (Owner.Client)
	// holds; UserEntries what one user (Owner.User) holds. Defaults 20,
	// 2 MiB and 5. A Put over a cap, or into a full store, is refused
	// (ReasonHeldFull): entries are never evicted to make room.
	ClientEntries int
	ClientBytes   int64
	UserEntries   int
	Now           func() time.Time
}

// Owner says whose an entry is, for the per-owner caps: the client's
// address prefix and the user the request names. Either may be empty.
type Owner struct {
	Client string
	User   string
}

// HeldStats are the store's counters, for metrics.
type HeldStats struct {
	Entries int
	Bytes   int64
	Puts    uint64
	Taken   uint64
	Expired uint64 // dropped at their TTL, never taken
	Refused uint64 // Puts refused: an owner's cap or the store's bound reached
	Missed  uint64 // Take of an unknown or expired handle
}

// Held keeps requests and responses under random handles for a few minutes.
// It is bounded by entries and bytes, in all and per owner; a Put that
// would cross a bound is refused, so one client flooding it cannot cancel
// anyone else's pending step-up. One instance per Caddy process (share it
// through a caddy.UsagePool); entries do not survive a restart.
type Held struct {
	cfg HeldConfig

	mu      sync.Mutex
	ttl     time.Duration
	byID    map[string]*list.Element
	order   *list.List // oldest first: expiry order while the TTL is unchanged
	bytes   int64
	clients map[string]ownerUse
	users   map[string]int
	puts    uint64
	taken   uint64
	expired uint64
	refused uint64
	missed  uint64
}

type ownerUse struct {
	entries int
	bytes   int64
}

type heldEntry struct {
	handle  string
	kind    entryKind
	sealed  []byte
	owner   Owner
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
	if cfg.ClientEntries <= 0 {
		cfg.ClientEntries = DefaultHeldClientEntries
	}
	if cfg.ClientBytes <= 0 {
		cfg.ClientBytes = DefaultHeldClientBytes
	}
	if cfg.UserEntries <= 0 {
		cfg.UserEntries = DefaultHeldUserEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Held{cfg: cfg, ttl: cfg.TTL, byID: map[string]*list.Element{}, order: list.New(),
		clients: map[string]ownerUse{}, users: map[string]int{}}
}

// SetTTL changes the lifetime of entries put from now on (a reload that
// changed the state lifetime); entries already held keep theirs.
func (h *Held) SetTTL(d time.Duration) {
	if d <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ttl = d
}

// SetCaps changes the per-owner caps (a reload that changed them); zero
// values keep the current ones.
func (h *Held) SetCaps(clientEntries int, clientBytes int64, userEntries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if clientEntries > 0 {
		h.cfg.ClientEntries = clientEntries
	}
	if clientBytes > 0 {
		h.cfg.ClientBytes = clientBytes
	}
	if userEntries > 0 {
		h.cfg.UserEntries = userEntries
	}
}

// PutRequest encrypts and keeps a login request; the Ref goes in the state.
func (h *Held) PutRequest(o Owner, r Request) (Ref, error) { return h.put(o, kindRequest, r) }

// PutResponse encrypts and keeps a withheld upstream response.
func (h *Held) PutResponse(o Owner, r Response) (Ref, error) { return h.put(o, kindResponse, r) }

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

func (h *Held) put(o Owner, kind entryKind, v any) (Ref, error) {
	handle, key, sealed, err := sealValue(kind, v)
	if err != nil {
		return Ref{}, err
	}
	e := &heldEntry{handle: handle, kind: kind, sealed: sealed, owner: o}
	if e.size() > h.cfg.MaxBytes {
		return Ref{}, ErrHeldTooLarge
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	h.purge(now)
	c := h.clients[o.Client]
	if h.order.Len() >= h.cfg.MaxEntries || h.bytes+e.size() > h.cfg.MaxBytes ||
		(o.Client != "" && (c.entries >= h.cfg.ClientEntries || c.bytes+e.size() > h.cfg.ClientBytes)) ||
		(o.User != "" && h.users[o.User] >= h.cfg.UserEntries) {
		h.refused++
		return Ref{}, refused(ReasonHeldFull)
	}
	e.expires = now.Add(h.ttl)
	h.byID[handle] = h.order.PushBack(e)
	h.bytes += e.size()
	if o.Client != "" {
		h.clients[o.Client] = ownerUse{entries: c.entries + 1, bytes: c.bytes + e.size()}
	}
	if o.User != "" {
		h.users[o.User]++
	}
	h.puts++
	return Ref{Handle: handle, Key: key}, nil
}

func (h *Held) take(ref Ref, kind entryKind, dst any) error {
	h.mu.Lock()
	now := h.cfg.Now()
	h.purge(now)
	el, ok := h.byID[ref.Handle]
	if !ok || !now.Before(el.Value.(*heldEntry).expires) {
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

// purge drops entries past their TTL. Entries are in insertion order, so
// the expired ones are at the front (after a TTL change an expired entry
// may wait behind a live one; take and Has check each entry's expiry).
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
	if o := e.owner.Client; o != "" {
		c := h.clients[o]
		c.entries--
		c.bytes -= e.size()
		if c.entries <= 0 {
			delete(h.clients, o)
		} else {
			h.clients[o] = c
		}
	}
	if u := e.owner.User; u != "" {
		if h.users[u]--; h.users[u] <= 0 {
			delete(h.users, u)
		}
	}
	return e
}

// Has reports whether an unexpired entry is held under handle, so the
// completion can send the user back to log in again at once instead of
// redirecting to a continuation that would find nothing.
func (h *Held) Has(handle string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	h.purge(now)
	el, ok := h.byID[handle]
	return ok && now.Before(el.Value.(*heldEntry).expires)
}

// Stats returns the counters, after dropping expired entries.
func (h *Held) Stats() HeldStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.purge(h.cfg.Now())
	return HeldStats{
		Entries: h.order.Len(), Bytes: h.bytes, Puts: h.puts, Taken: h.taken,
		Expired: h.expired, Refused: h.refused, Missed: h.missed,
	}
}

// Destruct forgets every entry; it lets a caddy.UsagePool release the store.
func (h *Held) Destruct() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byID = map[string]*list.Element{}
	h.order.Init()
	h.bytes = 0
	h.clients = map[string]ownerUse{}
	h.users = map[string]int{}
	return nil
}
