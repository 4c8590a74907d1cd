package engine

import (
	"context"
	"testing"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// BenchmarkRunTwoEngines measures Run's own overhead (goroutines, channel,
// context) with two in-process engines that answer at once.
func BenchmarkRunTwoEngines(b *testing.B) {
	engines := []rules.Engine{
		fixed("a", rules.Verdict{Action: rules.Allow}),
		fixed("b", rules.Verdict{Action: rules.Challenge, Reasons: []string{rules.ReasonEngineChallenge}}),
	}
	a := &rules.Attempt{User: "alice"}
	var r Runner
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res := r.Run(ctx, engines, a, time.Minute)
		if !res[0].OK() || !res[1].OK() {
			b.Fatal(res[0].Failure, res[1].Failure)
		}
	}
}

// BenchmarkRunTwoGuardedEngines adds the breakers on the same path.
func BenchmarkRunTwoGuardedEngines(b *testing.B) {
	engines := []rules.Engine{
		WithBreaker(fixed("a", rules.Verdict{Action: rules.Allow}), NewBreaker(BreakerConfig{})),
		WithBreaker(fixed("b", rules.Verdict{Action: rules.Allow}), NewBreaker(BreakerConfig{})),
	}
	a := &rules.Attempt{User: "alice"}
	var r Runner
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = Combine(r.Run(ctx, engines, a, time.Minute), rules.Deny)
	}
}

func BenchmarkBreakerAllowRecord(b *testing.B) {
	br := NewBreaker(BreakerConfig{})
	b.ReportAllocs()
	for b.Loop() {
		t, _ := br.Allow()
		br.Record(t, nil)
	}
}
