package app

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/login-guard/login_guard/internal/metrics"
)

// Metrics are the guard's collectors (internal/metrics).
type Metrics = metrics.Collectors

var metricsPool = caddy.NewUsagePool()

const metricsPoolKey = "login_guard.metrics"

type pooledMetrics struct{ m *Metrics }

func (*pooledMetrics) Destruct() error { return nil }

// acquireMetrics takes the process's collectors (creating them on first
// use) and registers them in reg, the config's registry (nil: none).
// Every acquire is matched by a releaseMetrics.
func acquireMetrics(reg *prometheus.Registry) (*Metrics, error) {
	v, _, err := metricsPool.LoadOrNew(metricsPoolKey, func() (caddy.Destructor, error) {
		return &pooledMetrics{m: metrics.New()}, nil
	})
	if err != nil {
		return nil, err
	}
	m := v.(*pooledMetrics).m
	if err := m.RegisterIn(reg); err != nil {
		releaseMetrics()
		return nil, err
	}
	return m, nil
}

func releaseMetrics() { _, _ = metricsPool.Delete(metricsPoolKey) }
