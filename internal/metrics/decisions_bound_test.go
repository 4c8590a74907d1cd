package metrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue is the value of c.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestDecisionSeriesBounded: reasons a scoring service words freely (one
// per user, say) stop making series at MaxDecisionSeries; the rest count
// under Overflow, and the series already made keep counting.
func TestDecisionSeriesBounded(t *testing.T) {
	m := New()
	if m.decisionSeries.max != MaxDecisionSeries {
		t.Fatalf("bound %d, want MaxDecisionSeries", m.decisionSeries.max)
	}
	const bound = 64 // the logic at a size quick to fill
	m.decisionSeries.max = bound
	m.Decision("login", "allow", nil)
	for i := range bound + 500 {
		m.Decision("login", "deny", []string{fmt.Sprintf("engine_says_user_%d", i)})
	}
	m.Decision("login", "allow", nil)
	ch := make(chan prometheus.Metric)
	go func() { m.decisions.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	if n != bound+1 {
		t.Fatalf("%d series, want %d and the overflow one", n, bound)
	}
	if got := counterValue(t, m.decisions.WithLabelValues("login", "deny", Overflow)); got != 501 {
		t.Fatalf("overflow counted %v, want 501", got)
	}
	if got := counterValue(t, m.decisions.WithLabelValues("login", "allow", "none")); got != 2 {
		t.Fatalf("an existing series counted %v, want 2", got)
	}
}
