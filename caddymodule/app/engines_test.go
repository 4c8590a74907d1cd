package app

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"
)

// stubbornEngine ignores its context until released.
type stubbornEngine struct {
	release chan struct{}
	done    atomic.Bool
}

func (e *stubbornEngine) Name() string { return "stubborn" }

func (e *stubbornEngine) Decide(context.Context, *rules.Attempt) (rules.Verdict, error) {
	<-e.release
	e.done.Store(true)
	return rules.Verdict{}, nil
}

// TestStopWaitsForEngineCalls: a call the route gave up on at its
// deadline still runs; Stop waits for it (within its bound) rather than
// leaving it to outlive the config unnoticed.
func TestStopWaitsForEngineCalls(t *testing.T) {
	a := Standalone(nil, time.Hour)
	e := &stubbornEngine{release: make(chan struct{})}
	res := a.RunEngines(context.Background(), []rules.Engine{e}, &rules.Attempt{}, time.Millisecond)
	if len(res) != 1 || res[0].Failure == nil || res[0].Failure.Kind != engine.KindTimeout {
		t.Fatalf("want a timeout, got %+v", res)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(e.release)
	}()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if !e.done.Load() {
		t.Fatal("Stop returned while an engine call was still running")
	}
}
