package engine

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Failure kinds. They are metric labels and audit words, so the set is
// small and fixed.
const (
	// KindTimeout: the deadline passed before the engine answered.
	KindTimeout = "timeout"
	// KindRefused: the connection could not be made or broke (refused,
	// reset, DNS, TLS).
	KindRefused = "refused"
	// KindStatus5xx: the engine answered with a 5xx status.
	KindStatus5xx = "status_5xx"
	// KindStatus4xx: the engine answered with a 4xx status. Does not count
	// toward the breaker: request content can provoke it.
	KindStatus4xx = "status_4xx"
	// KindStatusOther: a status that is neither 2xx, 4xx nor 5xx (for
	// example a redirect, which engine clients never follow).
	KindStatusOther = "status_other"
	// KindMalformed: the answer is not the JSON the engine's format
	// promises, or is larger than the configured cap.
	KindMalformed = "malformed"
	// KindUnknownDecision: the answer is well-formed but its decision word
	// is not one this client knows.
	KindUnknownDecision = "unknown_decision"
	// KindBreakerOpen: the engine's breaker is open; no call was made.
	KindBreakerOpen = "breaker_open"
	// KindCanceled: the caller gave up (the client went away) before the
	// engine answered. Not the engine's fault.
	KindCanceled = "canceled"
	// KindError: any other error an engine returned, or a panic in it.
	KindError = "error"
)

// ErrBreakerOpen is the cause carried by breaker_open failures.
var ErrBreakerOpen = errors.New("circuit breaker open")

// Failure is why an engine could not decide. Engines return it (or any
// error, which Classify turns into one); Runner.Run reports it per engine.
// Its message names the engine, the kind, the HTTP status and a cause that
// never holds a URL, a header or a secret.
type Failure struct {
	// Engine is the engine's configured name.
	Engine string
	// Kind is one of the Kind constants.
	Kind string
	// Status is the HTTP status for the status_* kinds, else 0.
	Status int
	// Err is the underlying cause, if any.
	Err error
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString("engine ")
	b.WriteString(f.Engine)
	b.WriteString(": ")
	b.WriteString(f.Kind)
	if f.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(f.Status))
		b.WriteString(")")
	}
	if f.Err != nil {
		b.WriteString(": ")
		b.WriteString(f.Err.Error())
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// Counts reports whether the failure is the engine's own fault and so
// counts toward its circuit breaker. 4xx answers, cancellations by the
// caller and breaker_open do not.
func (f *Failure) Counts() bool {
	switch f.Kind {
	case KindTimeout, KindRefused, KindStatus5xx, KindStatusOther,
		KindMalformed, KindUnknownDecision, KindError:
		return true
	}
	return false
}

// Classify turns an engine's error into a *Failure named after engine. A
// *Failure in err's chain is kept (its Engine filled in when empty). For
// other errors the state of ctx decides first: a call whose context is
// done failed because of that, whatever the error says. Then a timeout in
// err's chain is a timeout and anything else is kind "error". nil stays
// nil.
func Classify(ctx context.Context, engine string, err error) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		if f.Engine == "" {
			c := *f
			c.Engine = engine
			return &c
		}
		return f
	}
	return classifyError(ctx, engine, err, KindError)
}

// TransportFailure classifies an error from http.Client.Do or from reading
// a response body: a timeout or cancellation when ctx (or the error) says
// so, otherwise refused. The *url.Error wrapper is dropped because its
// message quotes the request URL, which may hold an account id.
func TransportFailure(ctx context.Context, engine string, err error) *Failure {
	return classifyError(ctx, engine, err, KindRefused)
}

func classifyError(ctx context.Context, engine string, err error, fallback string) *Failure {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	kind := fallback
	switch {
	case ctx != nil && errors.Is(ctx.Err(), context.Canceled):
		kind = KindCanceled
	case ctx != nil && ctx.Err() != nil:
		kind = KindTimeout
	case errors.Is(err, context.DeadlineExceeded):
		kind = KindTimeout
	case errors.Is(err, context.Canceled):
		kind = KindCanceled
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kind = KindTimeout
		}
	}
	return &Failure{Engine: engine, Kind: kind, Err: err}
}

// StatusFailure classifies a non-2xx HTTP status; it returns nil for 2xx.
func StatusFailure(engine string, status int) *Failure {
	kind := KindStatusOther
	switch {
	case status >= 200 && status < 300:
		return nil
	case status >= 500 && status < 600:
		kind = KindStatus5xx
	case status >= 400 && status < 500:
		kind = KindStatus4xx
	}
	return &Failure{Engine: engine, Kind: kind, Status: status}
}
