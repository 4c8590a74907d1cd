package redisstore

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The settlements waiting to be sent and the logouts kept for Redis are
// gauges an operator can watch.
func TestQueuedAndKeptGauges(t *testing.T) {
	c, err := New(Config{Addresses: []string{"127.0.0.1:1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := c.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	c.settle.mu.Lock()
	c.settle.queued = 7
	c.settle.mu.Unlock()
	c.revokes.n.Store(2)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if g := mf.GetMetric()[0].GetGauge(); g != nil {
			got[mf.GetName()] = g.GetValue()
		}
	}
	for name, want := range map[string]float64{
		"caddy_login_guard_store_settlements_queued": 7,
		"caddy_login_guard_store_logouts_kept":       2,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Fatalf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
