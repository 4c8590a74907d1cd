package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine/enginetest"
	"github.com/login-guard/login_guard/rules"
)

// longDeadline is a Run deadline that healthy in-process engines never
// reach; tests that must not time out use it.
const longDeadline = time.Minute

func TestRunCallsEnginesInParallel(t *testing.T) {
	// Each engine waits until all of them have started: with sequential
	// calls this would only end at the deadline, with timeouts.
	const n = 4
	var wg sync.WaitGroup
	wg.Add(n)
	engines := make([]rules.Engine, n)
	for i := range engines {
		engines[i] = funcEngine{"e", func(ctx context.Context, _ *rules.Attempt) (rules.Verdict, error) {
			wg.Done()
			wg.Wait()
			return rules.Verdict{Action: rules.Allow}, nil
		}}
	}
	for i, r := range Run(context.Background(), engines, &rules.Attempt{}, longDeadline) {
		if !r.OK() {
			t.Fatalf("engine %d: %v", i, r.Failure)
		}
	}
}

func TestRunKeepsOrderAndFailures(t *testing.T) {
	deny := rules.Verdict{Action: rules.Deny, Reasons: []string{"engine_decline"}}
	engines := []rules.Engine{
		fixed("a", rules.Verdict{Action: rules.Allow}),
		failing("b", &Failure{Kind: KindStatus5xx, Status: 503}),
		fixed("c", deny),
		failing("d", errors.New("boom")),
		funcEngine{"e", func(context.Context, *rules.Attempt) (rules.Verdict, error) { panic("secret value") }},
	}
	res := Run(context.Background(), engines, &rules.Attempt{}, longDeadline)
	want := []struct {
		name, kind string
	}{{"a", ""}, {"b", KindStatus5xx}, {"c", ""}, {"d", KindError}, {"e", KindError}}
	for i, w := range want {
		r := res[i]
		kind := ""
		if r.Failure != nil {
			kind = r.Failure.Kind
			if r.Failure.Engine != w.name {
				t.Errorf("%d: failure engine %q", i, r.Failure.Engine)
			}
		}
		if r.Engine != w.name || kind != w.kind {
			t.Errorf("result %d = %s/%q, want %s/%q", i, r.Engine, kind, w.name, w.kind)
		}
	}
	if res[2].Verdict.Action != rules.Deny {
		t.Errorf("verdict of c lost: %+v", res[2].Verdict)
	}
	if msg := res[4].Failure.Error(); msg != "engine e: error: engine panicked" {
		t.Errorf("panic failure = %q", msg)
	}
}

func TestRunOneDeadlineForAll(t *testing.T) {
	var mu sync.Mutex
	var deadlines []time.Time
	slow := func(name string) rules.Engine {
		return funcEngine{name, func(ctx context.Context, _ *rules.Attempt) (rules.Verdict, error) {
			d, _ := ctx.Deadline()
			mu.Lock()
			deadlines = append(deadlines, d)
			mu.Unlock()
			<-ctx.Done()
			return rules.Verdict{}, ctx.Err()
		}}
	}
	base := runtime.NumGoroutine()
	var r Runner
	res := r.Run(context.Background(), []rules.Engine{slow("x"), slow("y"), slow("z")}, &rules.Attempt{}, 20*time.Millisecond)
	for i, name := range []string{"x", "y", "z"} {
		if res[i].Engine != name || res[i].Failure == nil || res[i].Failure.Kind != KindTimeout {
			t.Fatalf("engine %s: %+v, want timeout", name, res[i])
		}
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(deadlines) != 3 || deadlines[0].IsZero() || !deadlines[0].Equal(deadlines[1]) || !deadlines[0].Equal(deadlines[2]) {
		t.Fatalf("engine deadlines %v: want one shared deadline", deadlines)
	}
	enginetest.CheckGoroutines(t, base)
}

func TestRunKeepsAnswersBeforeDeadline(t *testing.T) {
	ctx := enginetest.NewExpiringContext()
	started := make(chan struct{}, 2)
	base := runtime.NumGoroutine()
	var r Runner
	done := make(chan []Result)
	go func() {
		done <- r.Run(ctx, []rules.Engine{blocking("slow1", started), fixed("fast", rules.Verdict{Action: rules.Challenge}),
			blocking("slow2", started)}, &rules.Attempt{}, longDeadline)
	}()
	<-started
	<-started
	for r.Active() != 2 { // the fast engine's answer has been sent
		runtime.Gosched()
	}
	ctx.Expire()
	res := <-done
	if !res[1].OK() || res[1].Verdict.Action != rules.Challenge {
		t.Fatalf("fast engine: %+v", res[1])
	}
	for _, i := range []int{0, 2} {
		if res[i].Failure == nil || res[i].Failure.Kind != KindTimeout || res[i].Latency <= 0 {
			t.Fatalf("slow engine %d: %+v, want timeout with the time waited", i, res[i])
		}
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckGoroutines(t, base)
}

func TestRunReturnsWithoutWaitingForStragglers(t *testing.T) {
	// A misbehaving engine that ignores its context until released: Run
	// must still return at the deadline, and its goroutine must end once
	// the engine returns.
	release := make(chan struct{})
	stubborn := funcEngine{"stubborn", func(ctx context.Context, _ *rules.Attempt) (rules.Verdict, error) {
		<-release
		return rules.Verdict{Action: rules.Deny}, nil
	}}
	base := runtime.NumGoroutine()
	var r Runner
	res := r.Run(context.Background(), []rules.Engine{stubborn}, &rules.Attempt{}, time.Millisecond)
	if res[0].Failure == nil || res[0].Failure.Kind != KindTimeout || res[0].Engine != "stubborn" {
		t.Fatalf("result = %+v, want timeout", res[0])
	}
	if r.Active() != 1 {
		t.Fatalf("Active = %d, want 1 straggler", r.Active())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a done context = %v", err)
	}
	close(release)
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Active() != 0 {
		t.Fatalf("Active = %d after Wait", r.Active())
	}
	enginetest.CheckGoroutines(t, base)
}

func TestRunCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	base := runtime.NumGoroutine()
	done := make(chan []Result)
	var r Runner
	go func() { done <- r.Run(ctx, []rules.Engine{blocking("b", started)}, &rules.Attempt{}, longDeadline) }()
	<-started
	cancel()
	res := <-done
	if res[0].Failure == nil || res[0].Failure.Kind != KindCanceled {
		t.Fatalf("result = %+v, want canceled", res[0])
	}
	if res[0].Failure.Counts() {
		t.Fatal("a caller's cancellation must not count toward the breaker")
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckGoroutines(t, base)
}

func TestRunLatencyFromClock(t *testing.T) {
	clk := enginetest.NewClock(t0)
	e := funcEngine{"e", func(context.Context, *rules.Attempt) (rules.Verdict, error) {
		clk.Advance(7 * time.Millisecond)
		return rules.Verdict{}, nil
	}}
	r := Runner{Now: clk.Now}
	res := r.Run(context.Background(), []rules.Engine{e}, &rules.Attempt{}, longDeadline)
	if res[0].Latency != 7*time.Millisecond {
		t.Fatalf("latency = %v, want 7ms", res[0].Latency)
	}
}

func TestRunNoEngines(t *testing.T) {
	if res := Run(context.Background(), nil, &rules.Attempt{}, time.Second); len(res) != 0 {
		t.Fatalf("results = %v", res)
	}
}

func TestRunWithBreakers(t *testing.T) {
	clk := enginetest.NewClock(t0)
	down := WithBreaker(failing("down", &Failure{Kind: KindRefused}),
		NewBreaker(BreakerConfig{Threshold: 1, Now: clk.Now}))
	up := WithBreaker(fixed("up", rules.Verdict{Action: rules.Allow}), NewBreaker(BreakerConfig{Now: clk.Now}))
	engines := []rules.Engine{down, up}
	first := Run(context.Background(), engines, &rules.Attempt{}, longDeadline)
	second := Run(context.Background(), engines, &rules.Attempt{}, longDeadline)
	if first[0].Failure.Kind != KindRefused || second[0].Failure.Kind != KindBreakerOpen {
		t.Fatalf("down: %v then %v", first[0].Failure, second[0].Failure)
	}
	if !second[1].OK() {
		t.Fatalf("up: %v", second[1].Failure)
	}
}
