package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/login-guard/login_guard/clients/engine/enginetest"
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

// outcomes counts the reports' outcomes by error.
type outcomes struct {
	mu   sync.Mutex
	sent int
	errs map[error]int
}

func (o *outcomes) done(r ReportOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Err == nil {
		if r.Engine != "forter" || r.Method != "selfie" || !r.Success {
			panic("outcome of another report: " + r.Engine + " " + r.Method)
		}
		o.sent++
		return
	}
	o.errs[r.Err]++
}

func TestReporterBoundedAndDrained(t *testing.T) {
	before := runtime.NumGoroutine()
	eng := &reportingEngine{name: "forter", release: make(chan struct{})}
	engines := map[string]*Guarded{
		"forter":  WithBreaker(eng, NewBreaker(BreakerConfig{})),
		"sandbox": WithBreaker(&reportingEngine{name: "sandbox"}, NewBreaker(BreakerConfig{})),
	}
	out := &outcomes{errs: map[error]int{}}
	r := NewReporter(out.done)
	corrs := []rules.Correlation{{Engine: "forter", ID: "C1"}, {Engine: "unknown", ID: "C2"}, {Engine: "forter"}}
	for range ReportInFlight + 3 {
		r.Report(engines, corrs, "acct", "selfie", true)
	}
	// The slots are the bound: every one is taken, by a report blocked in
	// the engine, and the extra reports were dropped rather than queued.
	if n := len(r.slots); n != ReportInFlight {
		t.Fatalf("%d reports in flight, want the bound %d", n, ReportInFlight)
	}
	close(eng.release)
	r.Close()
	if len(eng.calls) != ReportInFlight || eng.calls[0] != "acct|C1|selfie" {
		t.Fatalf("calls %d %v", len(eng.calls), eng.calls[:1])
	}
	r.Report(engines, corrs, "acct", "selfie", true) // after Close: dropped
	if len(eng.calls) != ReportInFlight {
		t.Fatal("a report started after Close")
	}
	if out.sent != ReportInFlight || out.errs[ErrReportsFull] != 3 || out.errs[ErrReporterClosed] != 1 || len(out.errs) != 2 {
		t.Fatalf("outcomes: %d sent, dropped %v", out.sent, out.errs)
	}
	// Other tests' servers may still be winding down, so wait for the
	// count to settle back (bounded) rather than sampling it once.
	enginetest.CheckGoroutines(t, before)
}

func TestReporterPassesTheEnginesError(t *testing.T) {
	eng := &reportingEngine{name: "forter", release: make(chan struct{})}
	engines := map[string]*Guarded{"forter": WithBreaker(eng, NewBreaker(BreakerConfig{}))}
	got := make(chan ReportOutcome, 1)
	r := NewReporter(func(o ReportOutcome) { got <- o })
	r.timeout = 1 // the engine waits for release, so the report times out
	r.Report(engines, []rules.Correlation{{Engine: "forter", ID: "C1"}}, "acct", "passkey", false)
	r.Close()
	o := <-got
	if !errors.Is(o.Err, context.DeadlineExceeded) || o.Engine != "forter" || o.Method != "passkey" || o.Success {
		t.Fatalf("outcome %+v", o)
	}
}

func TestNilReporterDoesNothing(t *testing.T) {
	var r *Reporter
	r.Report(nil, []rules.Correlation{{Engine: "forter", ID: "C1"}}, "", "", true)
	r.Close()
}
