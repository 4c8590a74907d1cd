package forter

import (
	"context"
	"sync"
	"time"
)

// expiringCtx is a context whose deadline passes when the test says so,
// so deadline tests do not depend on the scheduler's speed.
type expiringCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiringCtx {
	return &expiringCtx{Context: context.Background(), done: make(chan struct{})}
}
func (c *expiringCtx) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c *expiringCtx) Done() <-chan struct{}       { return c.done }
func (c *expiringCtx) expire()                     { c.once.Do(func() { close(c.done) }) }
func (c *expiringCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
