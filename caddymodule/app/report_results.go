package app

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/forter"
	"github.com/login-guard/login_guard/internal/stepup"
)

// authResultReporter is what an engine implements to hear how the second
// factor it asked for ended (clients/forter.Client does).
type authResultReporter interface {
	ReportAuthResult(ctx context.Context, account, correlationID, method string, success bool) error
}

// Bounds of the reports: they run beside the user's request, never in
// front of it, so they are few, short and dropped (and logged) rather
// than queued without end.
const (
	reportTimeout  = 5 * time.Second
	reportInFlight = 64
)

// resultReporter sends second-factor outcomes to the engines that asked
// for the step-up. Each report runs in its own goroutine with a timeout,
// at most reportInFlight at once, tracked by a WaitGroup that close waits
// for, so a stopped config leaves nothing running.
type resultReporter struct {
	logger  *zap.Logger
	timeout time.Duration
	slots   chan struct{}

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newResultReporter(logger *zap.Logger) *resultReporter {
	return &resultReporter{logger: logger, timeout: reportTimeout, slots: make(chan struct{}, reportInFlight)}
}

// report tells every engine correlated with st that the step-up ended:
// success with method, or a refused factor. Engines that cannot hear it
// (no correlation, or no reporting call) are skipped.
func (rr *resultReporter) report(engines map[string]*engine.Guarded, st stepup.State, method string, success bool) {
	if rr == nil {
		return
	}
	account := st.AccountID
	if account == "" {
		account = forter.NoAccountID
	}
	for _, c := range st.Correlations {
		g := engines[c.Engine]
		if g == nil || c.ID == "" {
			continue
		}
		target, ok := g.Engine().(authResultReporter)
		if !ok {
			continue
		}
		rr.start(c.Engine, func(ctx context.Context) error {
			return target.ReportAuthResult(ctx, account, c.ID, method, success)
		}, method, success)
	}
}

// start runs one report in the background, or drops it when the reporter
// is closed or every slot is taken.
func (rr *resultReporter) start(name string, call func(context.Context) error, method string, success bool) {
	rr.mu.Lock()
	if rr.closed {
		rr.mu.Unlock()
		rr.logger.Warn("second-factor result not reported: config stopped", zap.String("engine", name))
		return
	}
	select {
	case rr.slots <- struct{}{}:
	default:
		rr.mu.Unlock()
		rr.logger.Warn("second-factor result not reported: too many reports in flight", zap.String("engine", name))
		return
	}
	rr.wg.Add(1)
	rr.mu.Unlock()
	go func() {
		defer rr.wg.Done()
		defer func() { <-rr.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), rr.timeout)
		defer cancel()
		fields := []zap.Field{zap.String("engine", name), zap.String("method", method), zap.Bool("success", success)}
		if err := call(ctx); err != nil {
			rr.logger.Warn("second-factor result report failed", append(fields, zap.Error(err))...)
			return
		}
		rr.logger.Info("second-factor result reported", fields...)
	}()
}

// close refuses new reports and waits for those running, each bounded by
// the timeout.
func (rr *resultReporter) close() {
	if rr == nil {
		return
	}
	rr.mu.Lock()
	rr.closed = true
	rr.mu.Unlock()
	rr.wg.Wait()
}
