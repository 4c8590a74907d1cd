package redisstore

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	breakerThreshold = 3
	breakerCoolDown  = 2 * time.Second
)

// breaker stops calls to a Redis that is down: after threshold consecutive
// outages every call fails at once for coolDown, then one probe call is
// let through; its success closes the breaker. So a dead Redis costs a
// request nothing but an error, and a Redis that comes back is used again
// within coolDown, with no restart.
type breaker struct {
	threshold int
	coolDown  time.Duration
	onChange  func(open bool)
	now       func() time.Time

	isOpenNow atomic.Bool // open, for isOpen without the lock

	mu       sync.Mutex
	failures int
	open     bool
	until    time.Time
	probing  bool
}

func newBreaker(threshold int, coolDown time.Duration, onChange func(open bool)) *breaker {
	return &breaker{threshold: threshold, coolDown: coolDown, onChange: onChange, now: time.Now}
}

// allow admits a call; probe is true for the half-open probe.
func (b *breaker) allow() (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, true
	}
	if b.probing || b.now().Before(b.until) {
		return false, false
	}
	b.probing = true
	return true, true
}

// record hears an admitted call's outcome.
func (b *breaker) record(probe, failed bool) {
	b.mu.Lock()
	changed := false
	switch {
	case probe:
		b.probing = false
		if failed {
			b.until = b.now().Add(b.coolDown)
		} else {
			b.open, b.failures, changed = false, 0, true
		}
	case b.open:
		// A call admitted before the breaker opened: its result is stale.
	case failed:
		b.failures++
		if b.failures >= b.threshold {
			b.open, b.until, changed = true, b.now().Add(b.coolDown), true
		}
	default:
		b.failures = 0
	}
	open := b.open
	b.isOpenNow.Store(open)
	b.mu.Unlock()
	if changed && b.onChange != nil {
		b.onChange(open)
	}
}

// abandon hears an admitted call whose caller gave up before Redis
// answered. That says nothing about Redis: a probe's slot is freed for
// the next call, and the breaker stays as it was (closing it on such a
// probe would send the next calls to a Redis still down, each waiting
// out its timeout).
func (b *breaker) abandon(probe bool) {
	if probe {
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
	}
}

func (b *breaker) isOpen() bool { return b.isOpenNow.Load() }
