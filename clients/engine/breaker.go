package engine

import (
	"fmt"
	"sync"
	"time"
)

// State is a breaker's state, readable for metrics.
type State uint8

const (
	// Closed: calls go through; consecutive counting failures are counted.
	Closed State = iota
	// Open: calls fail at once with breaker_open until the cool-down ends.
	Open
	// HalfOpen: one probe call at a time goes through to test the engine.
	HalfOpen
)

var stateNames = [...]string{Closed: "closed", Open: "open", HalfOpen: "half_open"}

// String returns "closed", "open" or "half_open": a metric label value.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Breaker defaults.
const (
	DefaultThreshold = 5
	DefaultCoolDown  = 30 * time.Second
)

// MaxThreshold bounds BreakerConfig.Threshold as a config gives it.
const MaxThreshold = 1000

// MaxCoolDown bounds BreakerConfig.CoolDown as a config gives it: an
// engine that failed is tried again within the hour (a longer cool-down,
// such as a unit typed wrong, would leave every route without it).
const MaxCoolDown = time.Hour

// BreakerConfig configures a Breaker. Zero values take the defaults.
type BreakerConfig struct {
	// Threshold is the number of consecutive counting failures that opens
	// the breaker (default 5).
	Threshold int
	// CoolDown is how long the breaker stays open before it lets a probe
	// through (default 30s).
	CoolDown time.Duration
	// Now is the clock (default time.Now). Tests inject a fake one.
	Now func() time.Time
	// OnStateChange, when set, is called after every transition, outside
	// the breaker's lock, for metrics and logs. It must not block.
	OnStateChange func(from, to State)
}

// Breaker is one engine's circuit breaker. It protects the guard's latency
// budget from an engine that is down: after Threshold consecutive counting
// failures, calls are not made at all for CoolDown. Safe for concurrent
// use.
type Breaker struct {
	threshold int
	coolDown  time.Duration
	now       func() time.Time
	onChange  func(from, to State)

	mu       sync.Mutex
	state    State
	failures int // consecutive counting failures while closed
	openedAt time.Time
	// gen changes at every transition, so a result from a call admitted
	// in an earlier state is ignored instead of corrupting the current
	// one.
	gen     uint64
	probing bool // a half-open probe is in flight
}

// Ticket is the admission of one call; hand it back to Record.
type Ticket struct {
	gen   uint64
	probe bool
}

// Probe reports whether the call is the half-open probe.
func (t Ticket) Probe() bool { return t.probe }

// Validate refuses what a config loader should not pass on: a threshold
// below zero or above MaxThreshold, or a cool-down negative or above
// MaxCoolDown (zero takes the default; NewBreaker would take the default
// for these silently).
func (cfg BreakerConfig) Validate() error {
	if cfg.Threshold < 0 || cfg.Threshold > MaxThreshold {
		return fmt.Errorf("failures must be from 1 to %d, not %d", MaxThreshold, cfg.Threshold)
	}
	if cfg.CoolDown < 0 || cfg.CoolDown > MaxCoolDown {
		return fmt.Errorf("cool_down must be a positive duration of at most %v, not %v", MaxCoolDown, cfg.CoolDown)
	}
	return nil
}

// NewBreaker returns a closed breaker. Non-positive Threshold and CoolDown
// take the defaults.
func NewBreaker(cfg BreakerConfig) *Breaker {
	b := &Breaker{threshold: cfg.Threshold, coolDown: cfg.CoolDown, now: cfg.Now, onChange: cfg.OnStateChange}
	if b.threshold <= 0 {
		b.threshold = DefaultThreshold
	}
	if b.coolDown <= 0 {
		b.coolDown = DefaultCoolDown
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

type transition struct {
	from, to State
	changed  bool
}

func (b *Breaker) notify(t transition) {
	if t.changed && b.onChange != nil {
		b.onChange(t.from, t.to)
	}
}

// setLocked moves to state s, starting a new generation.
func (b *Breaker) setLocked(s State) transition {
	t := transition{from: b.state, to: s, changed: b.state != s}
	b.state = s
	b.gen++
	b.failures = 0
	b.probing = false
	if s == Open {
		b.openedAt = b.now()
	}
	return t
}

// advanceLocked turns an open breaker whose cool-down is over half-open.
func (b *Breaker) advanceLocked() transition {
	if b.state == Open && !b.now().Before(b.openedAt.Add(b.coolDown)) {
		return b.setLocked(HalfOpen)
	}
	return transition{}
}

// Allow asks to make one call. ok is false while the breaker is open, or
// half-open with its probe already in flight; the caller must then fail at
// once with breaker_open. When ok, the caller must pass the ticket to
// Record exactly once.
func (b *Breaker) Allow() (t Ticket, ok bool) {
	b.mu.Lock()
	tr := b.advanceLocked()
	switch b.state {
	case Closed:
		t, ok = Ticket{gen: b.gen}, true
	case HalfOpen:
		if !b.probing {
			b.probing = true
			t, ok = Ticket{gen: b.gen, probe: true}, true
		}
	}
	b.mu.Unlock()
	b.notify(tr)
	return t, ok
}

// Record reports how an admitted call ended: f is nil on success. Counting
// failures (Failure.Counts) move toward open; a success or a 4xx answer
// (the engine is up) resets the count or closes a half-open breaker; other
// failures (canceled) change nothing but free the probe slot. A ticket
// from an earlier generation is ignored.
func (b *Breaker) Record(t Ticket, f *Failure) {
	counts := f != nil && f.Counts()
	alive := f == nil || f.Kind == KindStatus4xx
	b.mu.Lock()
	var tr transition
	if t.gen == b.gen {
		switch b.state {
		case Closed:
			switch {
			case counts:
				b.failures++
				if b.failures >= b.threshold {
					tr = b.setLocked(Open)
				}
			case alive:
				b.failures = 0
			}
		case HalfOpen:
			if t.probe {
				b.probing = false
				switch {
				case counts:
					tr = b.setLocked(Open)
				case alive:
					tr = b.setLocked(Closed)
				}
			}
		}
	}
	b.mu.Unlock()
	b.notify(tr)
}

// State returns the current state (an open breaker whose cool-down is over
// reads half_open).
func (b *Breaker) State() State {
	b.mu.Lock()
	tr := b.advanceLocked()
	s := b.state
	b.mu.Unlock()
	b.notify(tr)
	return s
}

// Peek returns the state as State would, without moving an open
// breaker whose cool-down is over to half_open and so without calling
// OnStateChange: for a caller that holds a lock the hook takes.
func (b *Breaker) Peek() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && !b.now().Before(b.openedAt.Add(b.coolDown)) {
		return HalfOpen
	}
	return b.state
}

// ConsecutiveFailures is the number of counting failures in a row while
// closed, for metrics.
func (b *Breaker) ConsecutiveFailures() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures
}
