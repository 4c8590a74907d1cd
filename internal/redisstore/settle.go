package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/rules/counter"
)

const (
	// maxDeferredOps bounds the settlements waiting to be sent. A login
	// that finds the queue full waits for room, in turn (see settler.add):
	// a Redis that has slowed down slows the logins that feed it, in the
	// order they came, rather than the queue growing without end.
	maxDeferredOps = 1024
	// deferredChunk is the most settlements one round trip carries. The
	// round trip's deadline (the store's timeout) covers the whole
	// pipeline, and one that overruns it loses the replies of every
	// settlement in it, recorded or not; 256 scripts take Redis a few
	// milliseconds.
	deferredChunk = 256
)

// settler sends the lockout settlements Counter.Defer takes, for every
// route on one Conn. Nothing runs while there is nothing to send: the
// first settlement queued starts one goroutine, which sends what is
// queued, deferredChunk at a time, and ends when the queue is empty.
// Under load each send carries the settlements of the logins answered
// during the one before, so a request waits for none (unless the queue
// is full) and the process pays one round trip for many. The sends go
// through the combiner like the requests' counting round trips: when
// one is under way they join the next, so Redis has one stream of
// pipelines to answer rather than two.
type settler struct {
	mu    sync.Mutex
	room  sync.Cond // on mu: the queue shrank, a turn passed, or Close began
	queue []deferredOps
	// turns and serving order the settlements that wait for room: add
	// takes a turn and queues only when serving reaches it, so one that
	// came later, even finding room, never goes before one that waits
	// (a success must not overtake an earlier failure of the same key).
	turns, serving uint64
	queued         int           // ops in queue
	stopped        chan struct{} // closed when the running goroutine ends; nil when none runs
	closing        bool          // Close began: take nothing more
	// send sends the settlements of one turn; nil is the Counter's
	// combined round trips, patiently (tests replace it).
	send func(context.Context, []counter.Op)
}

type deferredOps struct {
	ops    []counter.Op
	report counter.Settled
}

// Defer implements counter.Deferrer: the settlements go to Redis after
// the request, with other requests' (see settler).
func (s *Counter) Defer(ops []counter.Op, done counter.Settled) bool {
	return s.c.settle.add(s.c, ops, done)
}

func (st *settler) add(c *Conn, ops []counter.Op, done counter.Settled) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.room.L == nil {
		st.room.L = &st.mu
	}
	turn := st.turns
	st.turns++
	for !st.closing && (turn != st.serving || st.queued > 0 && st.queued+len(ops) > maxDeferredOps) {
		st.room.Wait()
	}
	if st.closing {
		return false
	}
	st.serving++
	if st.turns != st.serving {
		st.room.Broadcast() // the next turn may fit too
	}
	st.queue = append(st.queue, deferredOps{ops: ops, report: done})
	st.queued += len(ops)
	if st.stopped == nil {
		st.stopped = make(chan struct{})
		go st.run(c, st.stopped)
	}
	return true
}

// run sends the queue until it is empty.
func (st *settler) run(c *Conn, stopped chan struct{}) {
	defer close(stopped)
	send := st.send
	if send == nil {
		store := &Counter{c: c}
		send = func(ctx context.Context, ops []counter.Op) { store.combined(ctx, ops, true) }
	}
	var batch []deferredOps
	var ops []counter.Op
	for {
		batch = st.next(batch[:0])
		if len(batch) == 0 {
			return
		}
		ops = ops[:0]
		for _, d := range batch {
			ops = append(ops, d.ops...)
		}
		sendSettlements(c, send, ops)
		i := 0
		for _, d := range batch {
			i += copy(d.ops, ops[i:])
			settled(c, d)
		}
		clear(ops)
		clear(batch)
	}
}

// next moves the oldest settlements, up to deferredChunk ops (and at
// least one request's), from the queue to batch; none when the queue is
// empty, and then the goroutine is done.
func (st *settler) next(batch []deferredOps) []deferredOps {
	st.mu.Lock()
	defer st.mu.Unlock()
	k, n := oldest(st.queue, func(d deferredOps) int { return len(d.ops) }, deferredChunk)
	if k == 0 {
		st.stopped = nil
		return batch
	}
	batch = append(batch, st.queue[:k]...)
	rest := copy(st.queue, st.queue[k:])
	clear(st.queue[rest:])
	st.queue = st.queue[:rest]
	st.queued -= n
	st.room.Broadcast()
	return batch
}

// sendSettlements sends ops in one round trip. It runs on the settler's
// goroutine, where nothing recovers a panic the way net/http does for a
// request: one (in the Redis client, say) fails the ops it was sending,
// is logged, and the settler goes on.
func sendSettlements(c *Conn, send func(context.Context, []counter.Op), ops []counter.Op) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("sending lockout settlements panicked", zap.String("panic", fmt.Sprint(r)))
			for i := range ops {
				if ops[i].Kind != 0 && !ops[i].Recorded && ops[i].Err == nil {
					ops[i].Err = errSettlePanic
				}
			}
		}
	}()
	send(context.Background(), ops)
}

// errSettlePanic fails the settlements of a round trip whose sending
// panicked.
var errSettlePanic = errors.New("redis store: sending this settlement panicked")

// settled hands d its outcome. It runs on the settler's goroutine, where
// nothing recovers a panic the way net/http does for a request: one is
// logged, and the other settlements go on.
func settled(c *Conn, d deferredOps) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("reporting a lockout settlement panicked", zap.String("panic", fmt.Sprint(r)))
		}
	}()
	d.report.Settled(d.ops)
}

// waiting is how many settlements are queued, for Stats.
func (st *settler) waiting() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.queued
}

// drain stops taking settlements and waits, at most wait, for those
// queued to be sent: Close calls it before closing the client, so a
// reload or a stop does not drop the last logins' settlements.
func (st *settler) drain(wait time.Duration) {
	st.mu.Lock()
	st.closing = true
	if st.room.L != nil {
		st.room.Broadcast()
	}
	stopped := st.stopped
	st.mu.Unlock()
	if stopped == nil {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
	}
}
