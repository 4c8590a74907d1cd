package app

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/rules"
)

// reportingEngine records ReportAuthResult calls and blocks each until
// released.
type reportingEngine struct {
	name    string
	release chan struct{}
	mu      sync.Mutex
	calls   []string
}

func (e *reportingEngine) Name() string { return e.name }
func (e *reportingEngine) Decide(context.Context, *rules.Attempt) (rules.Verdict, error) {
	return rules.Verdict{}, nil
}

func (e *reportingEngine) ReportAuthResult(ctx context.Context, account, corr, method string, success bool) error {
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.calls = append(e.calls, account+"|"+corr+"|"+method)
	e.mu.Unlock()
	return nil
}

func TestResultReporterBoundedAndDrained(t *testing.T) {
	before := runtime.NumGoroutine()
	eng := &reportingEngine{name: "forter", release: make(chan struct{})}
	engines := map[string]*engine.Guarded{
		"forter":  engine.WithBreaker(eng, engine.NewBreaker(engine.BreakerConfig{})),
		"sandbox": engine.WithBreaker(&reportingEngine{name: "sandbox"}, engine.NewBreaker(engine.BreakerConfig{})),
	}
	rr := newResultReporter(zap.NewNop())
	st := stepup.State{Correlations: []rules.Correlation{{Engine: "forter", ID: "C1"}, {Engine: "unknown", ID: "C2"}, {Engine: "forter"}}}
	for range reportInFlight + 3 {
		rr.report(engines, st, "selfie", true)
	}
	// The slots are the bound: every one is taken, by a report blocked in
	// the engine, and the extra reports were dropped rather than queued.
	if n := len(rr.slots); n != reportInFlight {
		t.Fatalf("%d reports in flight, want the bound %d", n, reportInFlight)
	}
	close(eng.release)
	rr.close()
	if len(eng.calls) != reportInFlight || eng.calls[0] != "NO_ACCOUNT_ID|C1|selfie" {
		t.Fatalf("calls %d %v", len(eng.calls), eng.calls[:1])
	}
	rr.report(engines, st, "selfie", true) // after close: dropped
	if len(eng.calls) != reportInFlight {
		t.Fatal("a report started after close")
	}
	// Other tests' servers may still be winding down, so wait for the
	// count to settle back (bounded) rather than sampling it once.
	enginetest.CheckGoroutines(t, before)
}
