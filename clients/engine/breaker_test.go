package engine

import (
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/engine/enginetest"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func fail(kind string) *Failure { return &Failure{Engine: "e", Kind: kind} }

// call admits one call and records its outcome; it reports whether the
// call was admitted.
func call(b *Breaker, f *Failure) bool {
	t, ok := b.Allow()
	if ok {
		b.Record(t, f)
	}
	return ok
}

func TestBreakerOpensAfterThresholdConsecutive(t *testing.T) {
	clk := enginetest.NewClock(t0)
	b := NewBreaker(BreakerConfig{Threshold: 3, CoolDown: 10 * time.Second, Now: clk.Now})
	call(b, fail(KindTimeout))
	call(b, fail(KindRefused))
	call(b, nil) // a success breaks the run
	call(b, fail(KindStatus5xx))
	call(b, fail(KindMalformed))
	if s := b.State(); s != Closed {
		t.Fatalf("state = %s after 2 consecutive, want closed", s)
	}
	call(b, fail(KindUnknownDecision))
	if s := b.State(); s != Open {
		t.Fatalf("state = %s after 3 consecutive, want open", s)
	}
	if call(b, nil) {
		t.Fatal("open breaker admitted a call")
	}
}

func TestBreakerIgnoresNonCountingFailures(t *testing.T) {
	b := NewBreaker(BreakerConfig{Threshold: 2, Now: enginetest.NewClock(t0).Now})
	for range 10 {
		call(b, fail(KindStatus4xx))
		call(b, fail(KindCanceled))
	}
	if s := b.State(); s != Closed {
		t.Fatalf("state = %s after 4xx and canceled only, want closed", s)
	}
	// A 4xx answer shows the engine is up: it resets the run.
	call(b, fail(KindTimeout))
	call(b, fail(KindStatus4xx))
	call(b, fail(KindTimeout))
	if s := b.State(); s != Closed {
		t.Fatalf("state = %s, want closed (4xx reset the count)", s)
	}
	// A cancellation says nothing: the run goes on.
	call(b, fail(KindCanceled))
	call(b, fail(KindTimeout))
	if s := b.State(); s != Open {
		t.Fatalf("state = %s, want open (cancel did not reset)", s)
	}
}

func TestBreakerHalfOpenProbe(t *testing.T) {
	tests := []struct {
		name  string
		probe *Failure
		want  State
	}{
		{"success closes", nil, Closed},
		{"4xx closes", fail(KindStatus4xx), Closed},
		{"counting failure re-opens", fail(KindTimeout), Open},
		{"cancel keeps half-open", fail(KindCanceled), HalfOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := enginetest.NewClock(t0)
			var changes []string
			b := NewBreaker(BreakerConfig{Threshold: 1, CoolDown: 30 * time.Second, Now: clk.Now,
				OnStateChange: func(from, to State) { changes = append(changes, from.String()+">"+to.String()) }})
			call(b, fail(KindRefused))
			clk.Advance(30*time.Second - time.Nanosecond)
			if s := b.State(); s != Open {
				t.Fatalf("state = %s before cool-down end, want open", s)
			}
			clk.Advance(time.Nanosecond)
			if s := b.State(); s != HalfOpen {
				t.Fatalf("state = %s at cool-down end, want half_open", s)
			}
			probe, ok := b.Allow()
			if !ok || !probe.Probe() {
				t.Fatal("half-open breaker refused the probe")
			}
			if _, ok := b.Allow(); ok {
				t.Fatal("half-open breaker admitted a second call while the probe is in flight")
			}
			b.Record(probe, tt.probe)
			if s := b.State(); s != tt.want {
				t.Fatalf("state = %s, want %s (changes %v)", s, tt.want, changes)
			}
			if tt.want == HalfOpen {
				if _, ok := b.Allow(); !ok {
					t.Fatal("probe slot not freed after a cancelled probe")
				}
			}
			if tt.want == Open {
				clk.Advance(29 * time.Second)
				if s := b.State(); s != Open {
					t.Fatalf("re-opened breaker = %s before a new cool-down, want open", s)
				}
			}
			if changes[0] != "closed>open" || changes[1] != "open>half_open" {
				t.Fatalf("changes = %v", changes)
			}
		})
	}
}

func TestBreakerIgnoresStaleTickets(t *testing.T) {
	clk := enginetest.NewClock(t0)
	b := NewBreaker(BreakerConfig{Threshold: 1, CoolDown: time.Second, Now: clk.Now})
	old, _ := b.Allow() // a slow call admitted while closed
	call(b, fail(KindTimeout))
	clk.Advance(time.Second)
	probe, ok := b.Allow()
	if !ok {
		t.Fatal("no probe")
	}
	b.Record(old, nil) // the slow call ends with success: must not close the breaker
	if s := b.State(); s != HalfOpen {
		t.Fatalf("state = %s after a stale success, want half_open", s)
	}
	b.Record(probe, fail(KindTimeout))
	if s := b.State(); s != Open {
		t.Fatalf("state = %s, want open", s)
	}
}

func TestBreakerDefaults(t *testing.T) {
	clk := enginetest.NewClock(t0)
	b := NewBreaker(BreakerConfig{Now: clk.Now})
	for range DefaultThreshold - 1 {
		call(b, fail(KindTimeout))
	}
	if b.State() != Closed || b.ConsecutiveFailures() != DefaultThreshold-1 {
		t.Fatalf("state %s, failures %d", b.State(), b.ConsecutiveFailures())
	}
	call(b, fail(KindTimeout))
	clk.Advance(DefaultCoolDown - time.Second)
	if b.State() != Open {
		t.Fatal("not open within the default cool-down")
	}
	clk.Advance(time.Second)
	if b.State() != HalfOpen {
		t.Fatal("not half-open after the default cool-down")
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half_open", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

// TestBreakerConfigValidate: what a JSON breaker block may say (zero takes
// the default); NewBreaker would silently take the default for the rest.
func TestBreakerConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  BreakerConfig
		want string
	}{
		{BreakerConfig{}, ""},
		{BreakerConfig{Threshold: 1, CoolDown: time.Second}, ""},
		{BreakerConfig{Threshold: MaxThreshold}, ""},
		{BreakerConfig{Threshold: -7}, "failures must be from 1 to 1000, not -7"},
		{BreakerConfig{Threshold: 100000}, "failures must be from 1 to 1000, not 100000"},
		{BreakerConfig{CoolDown: -5 * time.Second}, "cool_down must be a positive duration of at most 1h0m0s, not -5s"},
		{BreakerConfig{CoolDown: MaxCoolDown}, ""},
		{BreakerConfig{CoolDown: 30 * time.Hour}, "cool_down must be a positive duration of at most 1h0m0s, not 30h0m0s"},
	} {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
