package engine

import (
	"context"

	"github.com/login-guard/login_guard/rules"
)

// funcEngine is an in-process engine whose decision is a function.
type funcEngine struct {
	name string
	fn   func(ctx context.Context, a *rules.Attempt) (rules.Verdict, error)
}

func (e funcEngine) Name() string { return e.name }
func (e funcEngine) Decide(ctx context.Context, a *rules.Attempt) (rules.Verdict, error) {
	return e.fn(ctx, a)
}

// fixed returns an engine that always answers v.
func fixed(name string, v rules.Verdict) funcEngine {
	return funcEngine{name, func(context.Context, *rules.Attempt) (rules.Verdict, error) { return v, nil }}
}

// failing returns an engine that always fails with f.
func failing(name string, err error) funcEngine {
	return funcEngine{name, func(context.Context, *rules.Attempt) (rules.Verdict, error) { return rules.Verdict{}, err }}
}

// blocking returns an engine that waits for its context to end, then tells
// done (if not nil) and returns the context's error.
func blocking(name string, started chan<- struct{}) funcEngine {
	return funcEngine{name, func(ctx context.Context, _ *rules.Attempt) (rules.Verdict, error) {
		if started != nil {
			started <- struct{}{}
		}
		<-ctx.Done()
		return rules.Verdict{}, ctx.Err()
	}}
}
