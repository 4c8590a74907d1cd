package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// AuthResultReporter is what an engine implements to hear how the second
// factor it asked for ended (clients/forter.Client does).
type AuthResultReporter interface {
	ReportAuthResult(ctx context.Context, account, correlationID, method string, success bool) error
}

// Bounds of the reports: they run beside the user's request, never in
// front of it, so they are few, short and dropped rather than queued
// without end.
const (
	ReportTimeout  = 5 * time.Second
	ReportInFlight = 64
)

// Why a report was dropped without being sent (ReportOutcome.Err).
var (
	ErrReporterClosed = errors.New("reporter closed")
	ErrReportsFull    = errors.New("too many reports in flight")
)

// ReportOutcome is how one report ended, for the caller's log. Success is
// the outcome reported, not whether the report went through: Err says
// that (nil when the engine took it; ErrReporterClosed or ErrReportsFull
// when it was dropped unsent, with Method and Success left empty).
type ReportOutcome struct {
	Engine  string
	Method  string
	Success bool
	Err     error
}

// Reporter sends second-factor outcomes to the engines that asked for the
// step-up. Each report runs in its own goroutine with a timeout, at most
// ReportInFlight at once, tracked by a WaitGroup that Close waits for, so
// a stopped config leaves nothing running. Nothing here logs: every
// report's outcome goes to the done func given to NewReporter.
type Reporter struct {
	done    func(ReportOutcome)
	timeout time.Duration
	slots   chan struct{}

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewReporter returns a Reporter that hands each report's outcome to done
// (called from the report's goroutine, or from Report for a dropped one).
func NewReporter(done func(ReportOutcome)) *Reporter {
	return &Reporter{done: done, timeout: ReportTimeout, slots: make(chan struct{}, ReportInFlight)}
}

// Report tells every engine named in correlations that the step-up for
// account ended: success with method, or a refused factor. Engines that
// cannot hear it (unknown, no correlation id, or no reporting call) are
// skipped. It returns at once; a nil Reporter does nothing.
func (r *Reporter) Report(engines map[string]*Guarded, correlations []rules.Correlation, account, method string, success bool) {
	if r == nil {
		return
	}
	for _, c := range correlations {
		g := engines[c.Engine]
		if g == nil || c.ID == "" {
			continue
		}
		target, ok := g.Engine().(AuthResultReporter)
		if !ok {
			continue
		}
		r.start(c.Engine, func(ctx context.Context) error {
			return target.ReportAuthResult(ctx, account, c.ID, method, success)
		}, method, success)
	}
}

// start runs one report in the background, or drops it when the reporter
// is closed or every slot is taken.
func (r *Reporter) start(name string, call func(context.Context) error, method string, success bool) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.done(ReportOutcome{Engine: name, Err: ErrReporterClosed})
		return
	}
	select {
	case r.slots <- struct{}{}:
	default:
		r.mu.Unlock()
		r.done(ReportOutcome{Engine: name, Err: ErrReportsFull})
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		r.done(ReportOutcome{Engine: name, Method: method, Success: success, Err: call(ctx)})
	}()
}

// Close refuses new reports and waits for those running, each bounded by
// the timeout. A nil Reporter does nothing.
func (r *Reporter) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}
