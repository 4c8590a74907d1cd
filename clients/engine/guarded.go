package engine

import (
	"context"

	"github.com/login-guard/login_guard/rules"
)

// Guarded is an engine behind its circuit breaker. It is itself a
// rules.Engine, so a route's engine list holds Guarded values and
// Runner.Run needs no knowledge of breakers.
type Guarded struct {
	engine  rules.Engine
	breaker *Breaker
}

// WithBreaker puts e behind b. Use one Breaker per engine, shared by every
// route that uses the engine, so that all traffic feeds the same state.
func WithBreaker(e rules.Engine, b *Breaker) *Guarded {
	return &Guarded{engine: e, breaker: b}
}

// Name is the wrapped engine's name.
func (g *Guarded) Name() string { return g.engine.Name() }

// Breaker returns the breaker, for metrics.
func (g *Guarded) Breaker() *Breaker { return g.breaker }

// Engine returns the wrapped engine.
func (g *Guarded) Engine() rules.Engine { return g.engine }

// Decide calls the wrapped engine unless the breaker is open, and records
// the outcome. Errors are returned as *Failure; breaker_open when no call
// was made.
func (g *Guarded) Decide(ctx context.Context, a *rules.Attempt) (v rules.Verdict, err error) {
	name := g.engine.Name()
	t, ok := g.breaker.Allow()
	if !ok {
		return rules.Verdict{}, &Failure{Engine: name, Kind: KindBreakerOpen, Err: ErrBreakerOpen}
	}
	recorded := false
	defer func() {
		// A panicking engine still frees its ticket (and a half-open
		// probe slot); the panic goes on to Runner.Run's recover.
		if !recorded {
			g.breaker.Record(t, &Failure{Engine: name, Kind: KindError})
		}
	}()
	v, err = g.engine.Decide(ctx, a)
	f := Classify(ctx, name, err)
	g.breaker.Record(t, f)
	recorded = true
	if f != nil {
		return rules.Verdict{}, f
	}
	return v, nil
}
