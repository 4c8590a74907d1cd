package loginid

import "time"

// Key fetch outcomes a FetchReport carries.
const (
	FetchOK          = "ok"           // the host answered with a usable key (set)
	FetchNotFound    = "not_found"    // the host does not know the kid (negative-cached)
	FetchError       = "error"        // transport error, bad status or unusable body
	FetchRateLimited = "rate_limited" // the token bucket refused a request; none was sent
)

// FetchReport describes one attempt to reach the key host (or the decision
// not to). It holds no token or user data; KID is a validated key id.
// A FetchError while keys are cached is not an outage of verification:
// cached keys, stale ones included, keep verifying.
type FetchReport struct {
	Mode     string // ModePEM or ModeJWKS
	Outcome  string
	KID      string
	Status   int           // HTTP status, 0 when no response
	Duration time.Duration // round trip by Config.Now, 0 when no request was sent
	Err      error         // cause for FetchError; may name the key URL, never a secret
}

// Observer receives FetchReports for logs and metrics. It is called
// synchronously, sometimes on a request's goroutine, so it must be quick
// and must not block.
type Observer interface {
	ObserveFetch(FetchReport)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(FetchReport)

// ObserveFetch calls f.
func (f ObserverFunc) ObserveFetch(r FetchReport) { f(r) }

type discardObserver struct{}

func (discardObserver) ObserveFetch(FetchReport) {}
