package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// errPanic is the cause of a failure from an engine that panicked. The
// panic value is not kept: it could hold anything, secrets included.
var errPanic = errors.New("engine panicked")

// Result is one engine's part in a Run.
type Result struct {
	// Engine is the engine's Name.
	Engine string
	// Verdict is the engine's decision; meaningful only when Failure is nil.
	Verdict rules.Verdict
	// Failure is why the engine could not decide, nil when it did.
	Failure *Failure
	// Latency is how long the engine took, or how long Run waited for it
	// when it timed out.
	Latency time.Duration
}

// OK reports whether the engine decided.
func (r Result) OK() bool { return r.Failure == nil }

// Runner runs engines in parallel and keeps track of calls still
// unwinding after their Run returned. The zero value is ready to use; keep
// one per configuration (it holds no engine state) and do not copy it.
type Runner struct {
	// Now is the clock for latencies (default time.Now). It is called
	// from the engines' goroutines, so it must be safe for concurrent use.
	Now func() time.Time

	mu     sync.Mutex
	active int
	idle   chan struct{} // closed when active drops to 0
}

// MaxDeadline bounds the deadline a route's config gives its engines: a
// person waits for them before the login goes on.
const MaxDeadline = 30 * time.Second

// Run calls engines once with the Runner's zero value. Calls still
// unwinding after a timeout are not tracked; use a Runner to observe them.
func Run(ctx context.Context, engines []rules.Engine, a *rules.Attempt, deadline time.Duration) []Result {
	var r Runner
	return r.Run(ctx, engines, a, deadline)
}

// Run calls every engine in parallel with a context that ends after
// deadline (non-positive: only ctx's own deadline applies) and returns one
// Result per engine, in the order of engines. It returns as soon as every
// engine answered or the deadline passed, whichever is first: engines that
// have not answered by then get a timeout failure (canceled when ctx itself
// was cancelled) and their context is cancelled. Their goroutines finish on
// their own as soon as the engines return; nothing is left blocked. A
// panicking engine becomes a failure of kind error.
func (r *Runner) Run(ctx context.Context, engines []rules.Engine, a *rules.Attempt, deadline time.Duration) []Result {
	results := make([]Result, len(engines))
	if len(engines) == 0 {
		return results
	}
	var cancel context.CancelFunc
	if deadline > 0 {
		ctx, cancel = context.WithTimeout(ctx, deadline)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	// Buffered for every engine: a late engine's send never blocks, so its
	// goroutine exits even though nobody reads the answer.
	answers := make(chan answer, len(engines))
	start := r.now()
	for i, e := range engines {
		r.begin()
		go func() {
			defer r.end()
			answers <- answer{i, r.call(ctx, e, a)}
		}()
	}

	got := make([]bool, len(engines))
	for n := 0; n < len(engines); n++ {
		select {
		case ans := <-answers:
			results[ans.i], got[ans.i] = ans.r, true
		case <-ctx.Done():
			r.giveUp(ctx, engines, results, got, answers, start)
			return results
		}
	}
	return results
}

// answer is one engine's Result and its index in Run's engine list.
type answer struct {
	i int
	r Result
}

// giveUp ends a Run whose context is done: answers already delivered are
// kept, the engines still running get a timeout failure (canceled when
// the caller's context was cancelled).
func (r *Runner) giveUp(ctx context.Context, engines []rules.Engine, results []Result, got []bool,
	answers <-chan answer, start time.Time) {
drain:
	for {
		select {
		case ans := <-answers:
			results[ans.i], got[ans.i] = ans.r, true
		default:
			break drain
		}
	}
	kind := KindTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		kind = KindCanceled
	}
	waited := r.now().Sub(start)
	for i, e := range engines {
		if !got[i] {
			name := e.Name()
			results[i] = Result{Engine: name, Latency: waited,
				Failure: &Failure{Engine: name, Kind: kind, Err: ctx.Err()}}
		}
	}
}

// call runs one engine, converting its error (or panic) into a Failure.
func (r *Runner) call(ctx context.Context, e rules.Engine, a *rules.Attempt) (res Result) {
	start := r.now()
	res.Engine = e.Name()
	defer func() {
		if p := recover(); p != nil {
			res.Verdict = rules.Verdict{}
			res.Failure = &Failure{Engine: res.Engine, Kind: KindError, Err: errPanic}
		}
		res.Latency = r.now().Sub(start)
	}()
	v, err := e.Decide(ctx, a)
	if f := Classify(ctx, res.Engine, err); f != nil {
		res.Failure = f
	} else {
		res.Verdict = v
	}
	return res
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) begin() {
	r.mu.Lock()
	if r.active == 0 {
		r.idle = make(chan struct{})
	}
	r.active++
	r.mu.Unlock()
}

func (r *Runner) end() {
	r.mu.Lock()
	r.active--
	if r.active == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
}

// Active is the number of engine calls running, including those a Run has
// already given up on. A value that stays high means an engine ignores
// its context.
func (r *Runner) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

// Wait blocks until no engine call is running or ctx is done (then
// returning ctx.Err()). Call it when a configuration is retired so that no
// call outlives it unnoticed.
func (r *Runner) Wait(ctx context.Context) error {
	r.mu.Lock()
	if r.active == 0 {
		r.mu.Unlock()
		return nil
	}
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
