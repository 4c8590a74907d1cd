package enginetest

import (
	"context"
	"sync"
	"time"
)

// ExpiringContext is a context whose deadline passes when the test calls
// Expire, so deadline tests do not depend on the scheduler's speed.
type ExpiringContext struct {
	context.Context
	at   time.Time
	done chan struct{}
	once sync.Once
}

// NewExpiringContext returns a context that reports a deadline an hour
// away and ends only on Expire.
func NewExpiringContext() *ExpiringContext {
	return &ExpiringContext{Context: context.Background(), at: time.Now().Add(time.Hour), done: make(chan struct{})}
}

// Deadline reports the nominal deadline.
func (c *ExpiringContext) Deadline() (time.Time, bool) { return c.at, true }

// Done is closed by Expire.
func (c *ExpiringContext) Done() <-chan struct{} { return c.done }

// Expire makes the deadline pass.
func (c *ExpiringContext) Expire() { c.once.Do(func() { close(c.done) }) }

// Err is context.DeadlineExceeded once expired.
func (c *ExpiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
