package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/login-guard/login_guard/clients/engine"
)

// openBreaker is a breaker for engine name in set s, opened by one
// counting failure.
func openBreaker(t *testing.T, s *Breakers, name string) *engine.Breaker {
	t.Helper()
	b := engine.NewBreaker(engine.BreakerConfig{Threshold: 1, CoolDown: time.Hour, OnStateChange: s.Hook(name)})
	s.Add(name, b)
	return b
}

func fail(b *engine.Breaker) {
	tk, _ := b.Allow()
	b.Record(tk, &engine.Failure{Kind: engine.KindTimeout})
}

// TestBreakerGaugeFollowsTheNewestRunningConfig: configs overlap, and the
// gauge shows the newest running one's breakers; an older config's
// changes do not reach it, and when the newest stops (a refused reload's
// config, say) the gauge shows the one still running, as it is then.
func TestBreakerGaugeFollowsTheNewestRunningConfig(t *testing.T) {
	m := New()
	gauge := func(name string) float64 {
		var d dto.Metric
		if err := m.breaker.WithLabelValues(name).Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetGauge().GetValue()
	}
	series := func() int {
		ch := make(chan prometheus.Metric, 16)
		m.breaker.Collect(ch)
		close(ch)
		return len(ch)
	}

	running := m.NewBreakers()
	forter := openBreaker(t, running, "forter")
	running.Show()
	fail(forter)
	if gauge("forter") != float64(engine.Open) {
		t.Fatalf("the running config's open breaker shows %v", gauge("forter"))
	}

	refused := m.NewBreakers()
	openBreaker(t, refused, "forter")
	openBreaker(t, refused, "scoring")
	refused.Show()
	if gauge("forter") != float64(engine.Closed) || series() != 2 {
		t.Fatalf("the new config's breakers start closed: forter %v, %d series", gauge("forter"), series())
	}
	// A request of the older config still in flight moves its breaker:
	// the gauge is the newer config's.
	other := openBreaker(t, running, "late")
	fail(other)
	if series() != 2 {
		t.Fatal("an older config's change reached the gauge")
	}
	refused.Hide()
	if gauge("forter") != float64(engine.Open) || gauge("late") != float64(engine.Open) || series() != 2 {
		t.Fatalf("after the newer config stopped: forter %v, late %v, %d series (scoring must be gone)", gauge("forter"), gauge("late"), series())
	}
	running.Hide()
	if gauge("forter") != float64(engine.Open) {
		t.Fatal("the last config to stop changed the gauge")
	}
	var none *Collectors
	none.NewBreakers().Show() // outside Caddy: no collectors, nothing to show
}
