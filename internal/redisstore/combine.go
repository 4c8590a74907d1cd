package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

const (
	// combinedChunk is the most operations one combined round trip
	// carries: the round trip's deadline (the store's timeout) covers the
	// whole pipeline, as for the deferred settlements (see deferredChunk).
	combinedChunk = 256
	// maxCombinedQueue bounds the operations waiting for a combined round
	// trip. A request that finds that many waiting sends its own at once,
	// beside the round trip under way, as every request did before
	// combining: the queue never grows with a load Redis cannot follow.
	maxCombinedQueue = 4 * combinedChunk
)

// combiner gathers the counting round trips of concurrent requests into
// one pipeline, on a store with one master (single or sentinel mode; in
// Cluster mode each request sends its own, so a slow master holds up only
// the requests whose keys it serves). A request that finds no counting
// round trip under way sends its own at once, exactly as it would alone:
// nothing waits for company. One that finds a round trip under way
// queues; when that round trip ends, the oldest queued request sends, in
// one pipeline, its own operations and those of the requests queued
// behind it (up to combinedChunk), and hands each its answers. Under load
// the process and Redis pay one write, one read and one wake-up of
// Redis's event loop for many requests instead of one each.
//
// A request's wait is bounded by twice the store's timeout: a request
// still queued when a round trip ends and it has waited longer than the
// timeout is answered unavailable instead of being sent (the round trip
// under way, which ends within the timeout, was already that slow), and
// one that is sent waits at most the timeout for its round trip. The
// settler's settlements are exempt: they are sent however long they wait. A
// request that finds maxCombinedQueue operations waiting sends its own,
// and while the breaker is open (or probing) requests do not queue at all:
// they are refused at once, or are the probe.
//
// A combined round trip does not end with the client of the request that
// sends it: it runs under that request's values without its
// cancellation, so one client going away fails no one else's login. Each
// operation stays atomic for its key, and one request's operations stay
// in their order; operations of different requests interleave as
// concurrent requests' always could. A combined round trip that fails
// counts once for each request it carried towards opening the breaker, as
// their separate round trips would have.
type combiner struct {
	wait time.Duration // the store's timeout: how long a request may stay queued

	mu     sync.Mutex
	busy   bool        // a combined round trip is under way
	queue  []*combined // requests waiting for the next one, oldest first
	queued int         // their operations
}

// combined is one queued request.
type combined struct {
	ops   []counter.Op
	since time.Time // when it queued
	// patient: never answered for waiting too long (the settler's
	// settlements, which no client waits for: one failed for waiting would
	// leave a failed guess uncounted).
	patient bool
	// wake hears once: the request's answers are in ops, or (group set)
	// it sends the next round trip for group.
	wake  chan struct{}
	group []*combined
	all   []counter.Op // the group's operations, while it sends them
}

// errCombinedPanic answers the operations of a combined round trip whose
// sending panicked (in the request that sent it).
var errCombinedPanic = errors.New("redis store: the round trip carrying this operation panicked")

// errQueuedTooLong answers a request that waited longer than the store's
// timeout for a combined round trip.
var errQueuedTooLong = fmt.Errorf("%w: waited longer than the store's timeout for a round trip", ErrUnavailable)

var combinedPool = sync.Pool{New: func() any { return &combined{wake: make(chan struct{}, 1)} }}

// sendFunc sends ops in one round trip on behalf of requests requests,
// filling in every op's outputs.
type sendFunc func(ctx context.Context, ops []counter.Op, requests int)

// do runs ops through send, alone or with other requests' operations.
// patient ops are sent however long they wait (see combined).
func (cb *combiner) do(ctx context.Context, ops []counter.Op, send sendFunc, patient bool) {
	cb.mu.Lock()
	if !cb.busy {
		cb.busy = true
		cb.mu.Unlock()
		defer cb.handOn()
		send(ctx, ops, 1)
		return
	}
	if cb.queued > 0 && cb.queued+len(ops) > maxCombinedQueue {
		cb.mu.Unlock()
		send(ctx, ops, 1)
		return
	}
	w := combinedPool.Get().(*combined)
	w.ops, w.since, w.patient = ops, time.Now(), patient
	cb.queue = append(cb.queue, w)
	cb.queued += len(ops)
	cb.mu.Unlock()
	<-w.wake
	if len(w.group) > 0 {
		cb.lead(ctx, w, send)
	}
	w.ops = nil
	combinedPool.Put(w)
}

// lead sends w's group in one round trip and hands each member its
// answers.
func (cb *combiner) lead(ctx context.Context, w *combined, send sendFunc) {
	defer cb.handOn()
	all := w.all[:0]
	for _, m := range w.group {
		all = append(all, m.ops...)
	}
	answered := false
	defer func() {
		if !answered {
			// send panicked: the others still get an answer, and the
			// panic goes on up this request (net/http logs it).
			for _, m := range w.group[1:] {
				fail(m.ops, errCombinedPanic)
				m.wake <- struct{}{}
			}
		}
		clear(all)
		w.all = all[:0]
		clear(w.group)
		w.group = w.group[:0]
	}()
	send(context.WithoutCancel(ctx), all, len(w.group))
	i := 0
	for _, m := range w.group {
		i += copy(m.ops, all[i:])
	}
	answered = true
	for _, m := range w.group[1:] {
		m.wake <- struct{}{}
	}
}

// fail answers every op that is not skipped with err.
func fail(ops []counter.Op, err error) {
	for i := range ops {
		if ops[i].Kind != 0 {
			ops[i].Err = err
		}
	}
}

// handOn ends a round trip: requests queued longer than the timeout are
// answered unavailable, and the oldest of the others, if any, sends the
// next round trip for itself and those behind it.
func (cb *combiner) handOn() {
	var late []*combined
	cb.mu.Lock()
	now := time.Now()
	if len(cb.queue) > 0 && now.Sub(cb.queue[0].since) > cb.wait {
		// Someone waited too long (the oldest did, at least): answer the
		// impatient ones, keep the others in order.
		kept := cb.queue[:0]
		for _, m := range cb.queue {
			if !m.patient && now.Sub(m.since) > cb.wait {
				late = append(late, m)
				cb.queued -= len(m.ops)
				continue
			}
			kept = append(kept, m)
		}
		clear(cb.queue[len(kept):])
		cb.queue = kept
	}
	if len(cb.queue) == 0 {
		cb.busy = false
		cb.mu.Unlock()
		wakeLate(late)
		return
	}
	k, n := oldest(cb.queue, func(m *combined) int { return len(m.ops) }, combinedChunk)
	first := cb.queue[0]
	first.group = append(first.group[:0], cb.queue[:k]...)
	rest := copy(cb.queue, cb.queue[k:])
	clear(cb.queue[rest:])
	cb.queue = cb.queue[:rest]
	cb.queued -= n
	cb.mu.Unlock()
	wakeLate(late)
	first.wake <- struct{}{}
}

func wakeLate(late []*combined) {
	for _, m := range late {
		fail(m.ops, errQueuedTooLong)
		m.wake <- struct{}{}
	}
}

// oldest says how many of queue's first entries go in one round trip,
// and their operations (size each): as many as fit in limit operations,
// and at least one, however large.
func oldest[T any](queue []T, size func(T) int, limit int) (entries, ops int) {
	for entries < len(queue) {
		n := size(queue[entries])
		if entries > 0 && ops+n > limit {
			break
		}
		ops += n
		entries++
	}
	return entries, ops
}
