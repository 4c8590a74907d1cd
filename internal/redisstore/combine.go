package redisstore

import (
	"context"
	"errors"
	"sync"

	"github.com/login-guard/login_guard/rules/counter"
)

// combinedChunk is the most operations one combined round trip carries:
// the round trip's deadline (the store's timeout) covers the whole
// pipeline, as for the deferred settlements (see deferredChunk).
const combinedChunk = 256

// combiner gathers the counting round trips of concurrent requests into
// one pipeline. A request that finds no counting round trip under way
// sends its own at once, exactly as it would alone: nothing waits for
// company. One that finds a round trip under way queues; when that round
// trip ends, the oldest queued request sends, in one pipeline, its own
// operations and those of every request queued behind it (up to
// combinedChunk), and hands each its answers. Under load a request waits
// for at most the round trip under way and then its own, and the process
// and Redis pay one write, one read and one wake-up of Redis's event loop
// for many requests instead of one each.
//
// A combined round trip does not end with the client of the request that
// sends it: it runs under that request's values without its
// cancellation, so one client going away fails no one else's login. Each
// operation stays atomic for its key, and one request's operations stay
// in their order; operations of different requests interleave as
// concurrent requests' always could.
type combiner struct {
	mu    sync.Mutex
	busy  bool        // a counting round trip is under way
	queue []*combined // requests waiting for the next one, oldest first
}

// combined is one queued request.
type combined struct {
	ops []counter.Op
	// wake hears once: the request's answers are in ops, or (group set)
	// it sends the next round trip for group.
	wake  chan struct{}
	group []*combined
	all   []counter.Op // the group's operations, while it sends them
}

// errCombinedPanic answers the operations of a combined round trip whose
// sending panicked (in the request that sent it).
var errCombinedPanic = errors.New("redis store: the round trip carrying this operation panicked")

var combinedPool = sync.Pool{New: func() any { return &combined{wake: make(chan struct{}, 1)} }}

// do runs ops through send, alone or with other requests' operations.
// send fills in the outputs of every op it is given.
func (cb *combiner) do(ctx context.Context, ops []counter.Op, send func(context.Context, []counter.Op)) {
	cb.mu.Lock()
	if !cb.busy {
		cb.busy = true
		cb.mu.Unlock()
		defer cb.handOn()
		send(ctx, ops)
		return
	}
	w := combinedPool.Get().(*combined)
	w.ops = ops
	cb.queue = append(cb.queue, w)
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
func (cb *combiner) lead(ctx context.Context, w *combined, send func(context.Context, []counter.Op)) {
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
				for i := range m.ops {
					m.ops[i].Err = errCombinedPanic
				}
				m.wake <- struct{}{}
			}
		}
		clear(all)
		w.all = all[:0]
		clear(w.group)
		w.group = w.group[:0]
	}()
	send(context.WithoutCancel(ctx), all)
	i := 0
	for _, m := range w.group {
		i += copy(m.ops, all[i:])
	}
	answered = true
	for _, m := range w.group[1:] {
		m.wake <- struct{}{}
	}
}

// handOn ends a round trip: the oldest queued request, if any, sends the
// next one for itself and those behind it.
func (cb *combiner) handOn() {
	cb.mu.Lock()
	if len(cb.queue) == 0 {
		cb.busy = false
		cb.mu.Unlock()
		return
	}
	n, k := 0, 0
	for k < len(cb.queue) && (k == 0 || n+len(cb.queue[k].ops) <= combinedChunk) {
		n += len(cb.queue[k].ops)
		k++
	}
	first := cb.queue[0]
	first.group = append(first.group[:0], cb.queue[:k]...)
	rest := copy(cb.queue, cb.queue[k:])
	clear(cb.queue[rest:])
	cb.queue = cb.queue[:rest]
	cb.mu.Unlock()
	first.wake <- struct{}{}
}
