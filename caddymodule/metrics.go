package caddymodule

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are registered on Caddy's registry. Labels are bounded by the
// config (route names, actions, reasons, event kinds): never a user, an IP
// or anything a client chooses.
type metrics struct {
	decisions     *prometheus.CounterVec
	smartidEvents *prometheus.CounterVec
	smartidDepth  *prometheus.GaugeVec
}

func registerMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "decisions_total",
			Help: "Guarded requests by route, action and reason.",
		}, []string{"route", "action", "reason"}),
		smartidEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "smartid_events_total",
			Help: "SmartID events by kind and result (sent, retry, dropped, failed).",
		}, []string{"kind", "result"}),
		smartidDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "smartid_queue_depth",
			Help: "SmartID events waiting to be sent.",
		}, []string{"queue"}),
	}
	var err error
	m.decisions, err = register(reg, m.decisions)
	if err != nil {
		return nil, err
	}
	if m.smartidEvents, err = register(reg, m.smartidEvents); err != nil {
		return nil, err
	}
	if m.smartidDepth, err = register(reg, m.smartidDepth); err != nil {
		return nil, err
	}
	return m, nil
}

// register tolerates a collector left by the previous config: Caddy keeps
// one registry across reloads, so the second registration finds the first.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// decision counts one verdict; a verdict with no reason counts as "none".
func (m *metrics) decision(route, action string, reasons []string) {
	if m == nil {
		return
	}
	if len(reasons) == 0 {
		m.decisions.WithLabelValues(route, action, "none").Inc()
		return
	}
	for _, r := range reasons {
		m.decisions.WithLabelValues(route, action, r).Inc()
	}
}
