package smileid

import "time"

// Op names one exchange the package performs, for reports and errors.
type Op string

const (
	OpUpload    Op = "upload"     // POST {base}/v1/upload
	OpZipPut    Op = "zip_put"    // PUT of the zip to the upload URL
	OpJobStatus Op = "job_status" // POST {base}/v1/job_status
	OpCallback  Op = "callback"   // an inbound callback handled
)

// Report describes one exchange for logs and metrics. It carries no
// images, no API key, no signature and no URL.
type Report struct {
	Op Op
	// Status is the HTTP status of an outbound call, 0 when none arrived
	// and for OpCallback.
	Status int
	// Duration is the outbound round trip (0 for OpCallback).
	Duration time.Duration
	// State is the job's state after the exchange, when one is known.
	State State
	// Outcome classifies an outbound call (one of the Outcome constants:
	// OutcomeOK, OutcomeTimeout, ...); empty for OpCallback. A 2xx answer
	// the client refused (malformed, badly signed) is not OutcomeOK.
	Outcome string
	// Err is nil on success. Its text is safe to log; errors.Is against the
	// package's sentinels gives a metric label.
	Err error
}

// Observer receives Reports synchronously on the caller's goroutine, so it
// must be quick and must not block.
type Observer interface {
	Observe(Report)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Report)

func (f ObserverFunc) Observe(r Report) { f(r) }

type discardObserver struct{}

func (discardObserver) Observe(Report) {}
