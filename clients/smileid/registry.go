package smileid

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// Limits on what one registry entry holds, so memory is bounded by
// MaxPending alone.
const (
	MaxUserIDLen      = 256
	MaxStateHandleLen = 512
	maxJobIDLen       = 128
	seenCallbacks     = 4 // callback digests remembered per job
)

// Entry is one registered step-up job.
type Entry struct {
	JobID       string
	UserID      string
	StateHandle string
	State       State
	// ResultCode, ResultText and SmileJobID are those of the last
	// confirmed job-status answer.
	ResultCode   string
	ResultText   string
	SmileJobID   string
	RegisteredAt time.Time
	ExpiresAt    time.Time
}

type entry struct {
	Entry
	confirms int
	seen     [seenCallbacks][sha256.Size]byte
	nseen    int
}

// Registry holds the jobs the guard submitted and still waits for. It is
// what makes a callback acceptable at all: only a job id registered here,
// not expired and not completed, may move. It is bounded: at most max
// entries, each living ttl from registration, so memory is at most
// max × (the field caps above).
type Registry struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	jobs  map[string]*entry
	order []string // job ids in registration order = expiry order
	head  int      // first live index in order
}

// NewRegistry returns a registry of at most max entries living ttl each,
// timed by now (time.Now when nil).
func NewRegistry(max int, ttl time.Duration, now func() time.Time) (*Registry, error) {
	if max <= 0 || ttl <= 0 {
		return nil, fmt.Errorf("%w: registry size and ttl must be positive", ErrConfig)
	}
	if now == nil {
		now = time.Now
	}
	return &Registry{max: max, ttl: ttl, now: now, jobs: make(map[string]*entry)}, nil
}

// Register records a pending job. It fails with ErrDuplicateJob for a job
// id already present, ErrRegistryFull when max live entries exist (live
// entries are never evicted: that would let one user's step-ups cancel
// another's), and ErrInput for empty or over-long fields.
func (r *Registry) Register(jobID, userID, stateHandle string) error {
	if jobID == "" || len(jobID) > maxJobIDLen || userID == "" || len(userID) > MaxUserIDLen || len(stateHandle) > MaxStateHandleLen {
		return fmt.Errorf("%w: job id, user id or state handle empty or too long", ErrInput)
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(now)
	if _, ok := r.jobs[jobID]; ok {
		return ErrDuplicateJob
	}
	if len(r.jobs) >= r.max {
		return ErrRegistryFull
	}
	r.jobs[jobID] = &entry{Entry: Entry{
		JobID: jobID, UserID: userID, StateHandle: stateHandle, State: StatePending,
		RegisteredAt: now, ExpiresAt: now.Add(r.ttl),
	}}
	if len(r.order)-r.head >= 2*r.max {
		r.compactLocked()
	}
	r.order = append(r.order, jobID)
	return nil
}

// Lookup returns a copy of the live entry for jobID, or ErrUnknownJob.
func (r *Registry) Lookup(jobID string) (Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.liveLocked(jobID, r.now())
	if e == nil {
		return Entry{}, ErrUnknownJob
	}
	return e.Entry, nil
}

// Status is the polling page's view: StateUnknown for a job that is not
// (or no longer) here.
func (r *Registry) Status(jobID string) State {
	if e, err := r.Lookup(jobID); err == nil {
		return e.State
	}
	return StateUnknown
}

// Complete hands out an authenticated job exactly once and forgets it,
// so one Smile ID authentication finishes one step-up. The caller must
// still compare the returned UserID and StateHandle with its own step-up
// state. A pending or rejected job stays registered (so the page can keep
// reading its state) and yields ErrNotAuthenticated; an unknown one
// ErrUnknownJob.
func (r *Registry) Complete(jobID string) (Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.liveLocked(jobID, r.now())
	if e == nil {
		return Entry{}, ErrUnknownJob
	}
	if e.State != StateAuthenticated {
		return Entry{}, ErrNotAuthenticated
	}
	delete(r.jobs, jobID)
	return e.Entry, nil
}

// Remove forgets a job whatever its state (Submit uses it when the upload
// failed, so no callback can ever match it).
func (r *Registry) Remove(jobID string) {
	r.mu.Lock()
	delete(r.jobs, jobID)
	r.mu.Unlock()
}

// Len returns the number of entries, expired ones not yet swept included.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

// Settle records a confirmed job-status outcome. Only a pending job moves;
// a terminal state never changes again. It returns the entry after the
// call and whether the state changed.
func (r *Registry) Settle(jobID string, st State, code, text, smileJobID string) (Entry, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.liveLocked(jobID, r.now())
	if e == nil {
		return Entry{}, false, ErrUnknownJob
	}
	if e.State.terminal() {
		return e.Entry, false, nil
	}
	e.ResultCode, e.ResultText, e.SmileJobID = code, text, smileJobID
	changed := st != e.State
	e.State = st
	return e.Entry, changed, nil
}

// TakeConfirm counts one job-status call against the job's budget.
func (r *Registry) TakeConfirm(jobID string, budget int) (Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.liveLocked(jobID, r.now())
	if e == nil {
		return Entry{}, ErrUnknownJob
	}
	if e.State.terminal() {
		return e.Entry, nil
	}
	if e.confirms >= budget {
		return e.Entry, ErrTooManyConfirms
	}
	e.confirms++
	return e.Entry, nil
}

// SeenCallback reports whether digest was recorded for jobID; the error
// is always nil (the registry is in this process).
func (r *Registry) SeenCallback(jobID string, digest [sha256.Size]byte) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.liveLocked(jobID, r.now())
	if e == nil {
		return false, nil
	}
	for i := 0; i < e.nseen && i < seenCallbacks; i++ {
		if e.seen[i] == digest {
			return true, nil
		}
	}
	return false, nil
}

// MarkCallback remembers digest for jobID (the last seenCallbacks ones).
func (r *Registry) MarkCallback(jobID string, digest [sha256.Size]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.liveLocked(jobID, r.now()); e != nil {
		e.seen[e.nseen%seenCallbacks] = digest
		e.nseen++
	}
}

// compactLocked rebuilds the order slice from the live ids, keeping their
// order. Completed and removed ids otherwise linger in it until they reach
// the front, so without this its length would follow the submit rate
// rather than max.
func (r *Registry) compactLocked() {
	live := r.order[:0]
	for _, id := range r.order[r.head:] {
		if _, ok := r.jobs[id]; ok {
			live = append(live, id)
		}
	}
	clear(r.order[len(live):])
	r.order = live
	r.head = 0
}

// liveLocked returns the entry if present and not expired; an expired one
// is dropped on the way.
func (r *Registry) liveLocked(jobID string, now time.Time) *entry {
	e, ok := r.jobs[jobID]
	if !ok {
		return nil
	}
	if !now.Before(e.ExpiresAt) {
		delete(r.jobs, jobID)
		return nil
	}
	return e
}

// expireLocked drops entries from the front of the registration order
// while they are expired or already gone, and compacts the order slice so
// it never grows past a small multiple of max.
func (r *Registry) expireLocked(now time.Time) {
	for r.head < len(r.order) {
		id := r.order[r.head]
		if e, ok := r.jobs[id]; ok {
			if now.Before(e.ExpiresAt) {
				break
			}
			delete(r.jobs, id)
		}
		r.order[r.head] = ""
		r.head++
	}
	if r.head > 0 && r.head >= len(r.order)/2 {
		n := copy(r.order, r.order[r.head:])
		clear(r.order[n:])
		r.order = r.order[:n]
		r.head = 0
	}
}
