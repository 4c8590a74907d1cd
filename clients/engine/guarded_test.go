package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/rules"
)

// countingEngine counts its calls and answers with the next error of a
// script (nil: an allow verdict).
type countingEngine struct {
	calls  int
	script []error
}

func (e *countingEngine) Name() string { return "scripted" }
func (e *countingEngine) Decide(context.Context, *rules.Attempt) (rules.Verdict, error) {
	err := e.script[e.calls%len(e.script)]
	e.calls++
	if err != nil {
		return rules.Verdict{}, err
	}
	return rules.Verdict{Action: rules.Allow}, nil
}

func TestGuardedOpensAndFailsFast(t *testing.T) {
	clk := enginetest.NewClock(t0)
	inner := &countingEngine{script: []error{&Failure{Kind: KindStatus5xx, Status: 500}}}
	g := WithBreaker(inner, NewBreaker(BreakerConfig{Threshold: 2, CoolDown: time.Minute, Now: clk.Now}))
	ctx := context.Background()
	for range 2 {
		if _, err := g.Decide(ctx, &rules.Attempt{}); err == nil {
			t.Fatal("no error from a failing engine")
		}
	}
	_, err := g.Decide(ctx, &rules.Attempt{})
	var f *Failure
	if !errors.As(err, &f) || f.Kind != KindBreakerOpen || f.Engine != "scripted" {
		t.Fatalf("error = %v, want breaker_open from scripted", err)
	}
	if inner.calls != 2 {
		t.Fatalf("engine called %d times, want 2 (no call while open)", inner.calls)
	}
	if g.Breaker().State() != Open || g.Name() != "scripted" || g.Engine() != inner {
		t.Fatal("accessors")
	}
	clk.Advance(time.Minute)
	inner.script = []error{nil}
	if _, err := g.Decide(ctx, &rules.Attempt{}); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if g.Breaker().State() != Closed {
		t.Fatalf("state = %s after a successful probe", g.Breaker().State())
	}
}

func TestGuardedFourXXNeverOpens(t *testing.T) {
	inner := &countingEngine{script: []error{&Failure{Kind: KindStatus4xx, Status: 400}}}
	g := WithBreaker(inner, NewBreaker(BreakerConfig{Threshold: 1, Now: enginetest.NewClock(t0).Now}))
	for range 20 {
		_, err := g.Decide(context.Background(), &rules.Attempt{})
		var f *Failure
		if !errors.As(err, &f) || f.Kind != KindStatus4xx {
			t.Fatalf("error = %v, want status_4xx", err)
		}
	}
	if inner.calls != 20 || g.Breaker().State() != Closed {
		t.Fatalf("calls %d, state %s: 4xx answers must not open the breaker", inner.calls, g.Breaker().State())
	}
}

func TestGuardedPanicFreesProbe(t *testing.T) {
	clk := enginetest.NewClock(t0)
	b := NewBreaker(BreakerConfig{Threshold: 1, CoolDown: time.Second, Now: clk.Now})
	call(b, fail(KindTimeout))
	clk.Advance(time.Second)
	g := WithBreaker(funcEngine{"p", func(context.Context, *rules.Attempt) (rules.Verdict, error) { panic("boom") }}, b)
	func() {
		defer func() { _ = recover() }()
		_, _ = g.Decide(context.Background(), &rules.Attempt{})
	}()
	if s := b.State(); s != Open {
		t.Fatalf("state = %s after a panicking probe, want open", s)
	}
}
