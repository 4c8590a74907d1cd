package tokens

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Bounds of a reload on a miss (see Reloader.Missed).
const (
	// MissReloadEvery: a token naming a key the keyset does not hold
	// starts a reload of the key material only this long after the last
	// one began and ended, so tokens naming made-up keys cost the storage
	// one read in that time.
	MissReloadEvery = 10 * time.Second
	// MissReloadWait: the request that met such a token waits this long
	// at most for the reload.
	MissReloadWait = 2 * time.Second
)

// Reloader keeps a process's key material fresh where several processes
// share it (Caddy storage): load reads it again (rotating it when due)
// and installs it. It runs on a timer, and also when a token names a key
// the keyset in use does not hold (Missed): another process rotated and
// already seals with a key this one has not read, and waiting for the
// timer (an hour) would refuse that process's tokens here meanwhile. One
// load at a time, so an older read never replaces a newer one. The zero
// value does nothing until Start.
type Reloader struct {
	mu        sync.Mutex
	load      func()
	missEvery time.Duration
	missWait  time.Duration
	last      time.Time     // when the last load began, or ended once it has
	running   chan struct{} // closed when the load under way ends; nil when none
	stopped   bool
	stop      chan struct{}
	finished  chan struct{} // closed when the timer's goroutine ends
}

// Start runs load every `every` from now on, and on a miss. Stop ends it.
func (r *Reloader) Start(load func(), every time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.load, r.stop, r.finished = load, make(chan struct{}), make(chan struct{})
	if r.missEvery == 0 {
		r.missEvery, r.missWait = MissReloadEvery, MissReloadWait
	}
	go func() {
		defer close(r.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				if ch, ok := r.begin(false); ok {
					r.run(ch)
				}
			}
		}
	}()
}

// begin starts a load unless one is under way (its channel is returned,
// not ok) or, for a miss, one began less than missEvery ago (nil).
func (r *Reloader) begin(miss bool) (ch chan struct{}, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.running != nil:
		return r.running, false
	case r.load == nil || r.stopped || miss && !r.last.IsZero() && time.Since(r.last) < r.missEvery:
		return nil, false
	}
	r.running, r.last = make(chan struct{}), time.Now()
	return r.running, true
}

// run runs a load begin began. Its end counts as the last load too: a
// storage that hangs (each load then gives up after its own bound, the
// storage call going on in the background) is not asked again at once.
func (r *Reloader) run(ch chan struct{}) {
	defer func() {
		r.mu.Lock()
		r.running, r.last = nil, time.Now()
		r.mu.Unlock()
		close(ch)
	}()
	r.load()
}

// Missed reports whether err refused a token for naming a key the
// keyset does not hold. If so, it reloads the key material (or joins the
// load under way; not when one began or ended less than MissReloadEvery
// ago) and waits for it, at most MissReloadWait or until ctx ends: the
// caller then opens the token again if the keyset changed.
func (r *Reloader) Missed(ctx context.Context, err error) bool {
	if !errors.Is(err, errUnknownKey) {
		return false
	}
	ch, ok := r.begin(true)
	if ch == nil {
		return true
	}
	if ok {
		go r.run(ch)
	}
	t := time.NewTimer(r.missWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	return true
}

// Stop ends the timer, waiting for a load it runs; no load starts from
// now on (one a miss began goes on to its end). Stop before Start, or
// twice, does nothing.
func (r *Reloader) Stop() {
	r.mu.Lock()
	started := r.load != nil && !r.stopped
	r.stopped = true
	r.mu.Unlock()
	if started {
		close(r.stop)
		<-r.finished
	}
}
