package smartid

import "time"

// Outcome is what a Report describes.
type Outcome string

const (
	OutcomeSent    Outcome = "sent"    // SmartID answered 2xx
	OutcomeRetry   Outcome = "retry"   // an attempt failed; another follows
	OutcomeFailed  Outcome = "failed"  // no retry left, or a status not worth retrying
	OutcomeDropped Outcome = "dropped" // never delivered: see Reason
)

// Drop reasons carried by OutcomeDropped reports.
const (
	ReasonQueueFull = "queue_full" // Enqueue found the queue full
	ReasonShutdown  = "shutdown"   // Close's deadline passed first
)

// Report is one delivery event for logs and metrics. It carries no
// license and no payload.
type Report struct {
	Outcome Outcome
	Event   EventKind
	Channel ChannelKind
	// Reason is set for OutcomeDropped.
	Reason string
	// Attempt is the 1-based attempt the report is about (0 for a drop
	// before any attempt).
	Attempt int
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Duration is the attempt's round trip (0 for a drop before any
	// attempt). For events written together and answered later it runs
	// until the answer was read, which may be up to the linger window or
	// 5ms, whichever is shorter, after it arrived (see maxAnswerDelay).
	Duration time.Duration
	// Err is the transport error of a failed attempt, if any. It may quote
	// the endpoint URL, which holds no credentials (New refuses them).
	Err error
}

// Observer receives Reports. It is called synchronously from the workers
// and, for queue-full drops, from Enqueue on the request's goroutine, so it
// must be quick and must not block.
type Observer interface {
	Observe(Report)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Report)

func (f ObserverFunc) Observe(r Report) { f(r) }

type discardObserver struct{}

func (discardObserver) Observe(Report) {}
