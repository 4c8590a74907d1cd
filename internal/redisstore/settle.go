package redisstore

import (
	"context"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// maxDeferredOps bounds the settlements waiting to be sent. Past it Defer
// refuses and the request settles its own, waiting for the round trip:
// a Redis that has slowed down slows the logins that feed it rather than
// the queue growing without end.
const maxDeferredOps = 4096

// settler sends the lockout settlements Counter.Defer takes, for every
// route on one Conn. Nothing runs while there is nothing to send: the
// first settlement queued starts one goroutine, which sends everything
// queued in one pipelined round trip, then whatever was queued meanwhile,
// and ends when the queue is empty. Under load each round trip carries
// the settlements of every login answered during the one before, so the
// requests wait for none and the process pays one round trip for many.
type settler struct {
	mu      sync.Mutex
	queue   []deferredOps
	spare   []deferredOps
	queued  int           // ops in queue
	stopped chan struct{} // closed when the running goroutine ends; nil when none runs
	closing bool          // Close began: take nothing more
}

type deferredOps struct {
	ops  []counter.Op
	done func([]counter.Op)
}

// Defer implements counter.Deferrer: the settlements go to Redis after
// the request, with other requests' (see settler).
func (s *Counter) Defer(ops []counter.Op, done func([]counter.Op)) bool {
	return s.c.settle.add(s.c, ops, done)
}

func (st *settler) add(c *Conn, ops []counter.Op, done func([]counter.Op)) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closing || st.queued+len(ops) > maxDeferredOps {
		return false
	}
	st.queue = append(st.queue, deferredOps{ops: ops, done: done})
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
	store := &Counter{c: c}
	var ops []counter.Op
	for {
		st.mu.Lock()
		batch := st.queue
		if len(batch) == 0 {
			st.stopped = nil
			st.mu.Unlock()
			return
		}
		st.queue, st.spare = st.spare[:0], nil
		st.queued = 0
		st.mu.Unlock()

		ops = ops[:0]
		for _, d := range batch {
			ops = append(ops, d.ops...)
		}
		store.Batch(context.Background(), ops)
		i := 0
		for _, d := range batch {
			i += copy(d.ops, ops[i:])
			d.done(d.ops)
		}
		clear(ops)
		clear(batch)
		st.mu.Lock()
		st.spare = batch[:0]
		st.mu.Unlock()
	}
}

// drain stops taking settlements and waits, at most wait, for those
// queued to be sent: Close calls it before closing the client, so a
// reload or a stop does not drop the last logins' settlements.
func (st *settler) drain(wait time.Duration) {
	st.mu.Lock()
	st.closing = true
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
