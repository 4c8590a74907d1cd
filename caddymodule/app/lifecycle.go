package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// Caddy starts a config's apps in no fixed order, so the HTTP server may
// serve before the login_guard app's Start has loaded its keys, and it
// stops them in no fixed order either, so old handlers may still serve
// after the app's Stop. This file holds the two rules that follow:
//
//   - a guarded request waits (bounded by start_wait) for Start to finish,
//     else gets 503 with Retry-After before anything is read, decided or
//     forwarded; nothing a half-started app lacks is ever captured;
//   - what in-flight requests still use (the SmartID queue, the step-up
//     store, the metrics) is given back only once they are done: in
//     Cleanup, which Caddy runs after every app's Stop, and after the
//     app's own in-flight requests have finished (bounded).

// Start wait bounds.
const (
	defaultStartWait = 3 * time.Second
	maxStartWait     = 30 * time.Second
	// startRetryAfter is what a client told "starting" should wait.
	startRetryAfter = "1"
	// releaseWaitDefault bounds the wait for in-flight requests when no
	// SmartID drain says otherwise.
	releaseWaitDefault = 10 * time.Second
)

// errStarting is the 503 answer's error: the server is up but the guard
// has not finished starting.
var errStarting = errors.New("login_guard is starting")

// startHoldForTest, when set by a test before the config loads, makes
// Start return at once and do its work only after the channel is closed,
// so a test can hold the app half-started while the HTTP server serves.
// Nothing but tests sets it (HoldStartsForTest).
var startHoldForTest chan struct{}

// HoldStartsForTest makes the apps of configs loaded from now on do their
// Start's work only once hold is closed (nil: start normally again). Only
// tests call it, to exercise the window in which the HTTP server serves
// before the app has started.
func HoldStartsForTest(hold chan struct{}) { startHoldForTest = hold }

// lifecycle is the app's start gate and in-flight count.
type lifecycle struct {
	started  chan struct{} // closed once Start has finished its work
	inflight atomic.Int64  // guarded requests being served
	released atomic.Bool   // pooled values given back
}

func newLifecycle() *lifecycle { return &lifecycle{started: make(chan struct{})} }

// markStarted opens the gate; everything Start set up happens before it.
func (l *lifecycle) markStarted() {
	select {
	case <-l.started:
	default:
		close(l.started)
	}
}

func (l *lifecycle) isStarted() bool {
	select {
	case <-l.started:
		return true
	default:
		return false
	}
}

// awaitStart reports whether the app has started, waiting up to wait for
// it (or until ctx ends). The started case costs one channel poll.
func (l *lifecycle) awaitStart(ctx context.Context, wait time.Duration) bool {
	select {
	case <-l.started:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-l.started:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// waitIdle waits until no guarded request is in flight, at most bound.
func (l *lifecycle) waitIdle(bound time.Duration) bool {
	deadline := time.Now().Add(bound)
	for l.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// startWait is the configured bound on a request's wait for Start.
func (a *App) startWait() time.Duration {
	if a.StartWait == nil {
		return defaultStartWait
	}
	return time.Duration(*a.StartWait)
}

// Enter admits a guarded request: it waits for the app's start (bounded)
// and counts the request in flight until Leave is called. When the app
// has not started in time it answers 503 with Retry-After: err is the
// answer, nothing was read, decided or forwarded, and Leave must not be
// called.
func (a *App) Enter(w http.ResponseWriter, r *http.Request) error {
	lc := a.rt.life
	lc.inflight.Add(1)
	if !lc.awaitStart(r.Context(), a.startWait()) {
		lc.inflight.Add(-1)
		a.logger.Warn("guarded request refused: the login_guard app has not started yet",
			zap.String("path", r.URL.Path), zap.Duration("start_wait", a.startWait()))
		w.Header().Set("Retry-After", startRetryAfter)
		return caddyhttp.Error(http.StatusServiceUnavailable, errStarting)
	}
	return nil
}

// Leave ends a request Enter admitted. (A method, not a closure Enter
// returns: a guarded request allocates nothing to be counted.)
func (a *App) Leave() { a.rt.life.inflight.Add(-1) }

// pendingReleases counts the background releases of replaced configs
// still under way (waiting for their requests, draining their SmartID
// queue). A process that exits waits for them, within their bounds, so a
// queue given up by a reload just before SIGTERM still drains. It is
// process-wide like the pools it gives back to.
var pendingReleases sync.WaitGroup

// waitPendingReleases waits for the background releases, at most bound.
func waitPendingReleases(bound time.Duration) bool {
	done := make(chan struct{})
	go func() {
		pendingReleases.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(bound):
		return false
	}
}

// releaseWhenIdle gives back the pooled values once this config's
// in-flight requests are done (bounded). With none in flight, or when the
// process is exiting (so the SmartID queue drains before Caddy exits), it
// does so here; a reload with requests still running does it in the
// background, so the admin call is not held up.
func (a *App) releaseWhenIdle() {
	if a.rt == nil || a.rt.life == nil || !a.rt.life.released.CompareAndSwap(false, true) {
		return
	}
	bound := releaseWaitDefault
	if a.SmartID != nil {
		bound = a.SmartID.drain
	}
	release := func() {
		if !a.rt.life.waitIdle(bound) {
			a.logger.Warn("releasing the guard's shared state with requests still in flight",
				zap.Int64("in_flight", a.rt.life.inflight.Load()), zap.Duration("waited", bound))
		}
		// What the config's requests held back is written before it goes.
		a.rt.revokeLines.Flush(a.logger, time.Now(), true)
		a.releasePooled()
	}
	if caddy.Exiting() {
		release()
		// Each background release is bounded by its own waits (in-flight
		// requests, then the queue's drain).
		if !waitPendingReleases(2*bound + time.Second) {
			a.logger.Warn("exiting before a replaced config finished releasing its state")
		}
		return
	}
	if a.rt.life.inflight.Load() == 0 {
		release()
		return
	}
	pendingReleases.Add(1)
	go func() {
		defer pendingReleases.Done()
		release()
	}()
}

// Started reports whether the app's Start has finished.
func (a *App) Started() bool { return a.rt != nil && a.rt.life.isStarted() }
