package caddymodule

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/login-guard/login_guard/clients/engine"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are registered on Caddy's registry. Labels are bounded by the
// config (route names, actions, reasons, event kinds): never a user, an IP
// or anything a client chooses.
type metrics struct {
	decisions     *prometheus.CounterVec
	smartidEvents *prometheus.CounterVec
	smartidDepth  *prometheus.GaugeVec
	engineLatency *prometheus.HistogramVec
	engineErrors  *prometheus.CounterVec
	breaker       *prometheus.GaugeVec

	// The series the request path and the SmartID workers touch, by
	// label values.
	decisionSeries labelled[prometheus.Counter]
	smartidSeries  labelled[prometheus.Counter]
	depthSeries    labelled[prometheus.Gauge]
}

// labelled caches a vector's series by their label values (at most three),
// so recording is a map read instead of hashing the values into the
// vector every time. The map is replaced, never changed, so readers take
// no lock; labels are bounded by the config (see metrics), so it stays
// small.
type labelled[M any] struct {
	with func(...string) M // the vector's WithLabelValues
	n    int               // how many labels the vector has
	m    atomic.Pointer[map[[3]string]M]
	mu   sync.Mutex // serialises the map's replacement
}

func (l *labelled[M]) init(n int, with func(...string) M) { l.n, l.with = n, with }

func (l *labelled[M]) get(values [3]string) M {
	if cur := l.m.Load(); cur != nil {
		if s, ok := (*cur)[values]; ok {
			return s
		}
	}
	return l.add(values)
}

// add creates a series on first use. Apart from get so that only this
// path pays for the label values escaping to the heap.
func (l *labelled[M]) add(values [3]string) M {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.m.Load()
	next := make(map[[3]string]M, 1)
	if cur != nil {
		if s, ok := (*cur)[values]; ok {
			return s
		}
		for k, v := range *cur {
			next[k] = v
		}
	}
	s := l.with(values[:l.n]...)
	next[values] = s
	l.m.Store(&next)
	return s
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
	m.engineLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "login_guard", Name: "engine_latency_seconds",
		Help:    "Engine call latency by engine.",
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .4, .8, 1.6},
	}, []string{"engine"})
	m.engineErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "login_guard", Name: "engine_errors_total",
		Help: "Engine failures by engine and kind (timeout, refused, status_5xx, status_4xx, malformed, unknown_decision, breaker_open).",
	}, []string{"engine", "kind"})
	m.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "login_guard", Name: "engine_breaker_state",
		Help: "Circuit breaker state by engine: 0 closed, 1 open, 2 half-open.",
	}, []string{"engine"})
	var err error
	if m.engineLatency, err = register(reg, m.engineLatency); err != nil {
		return nil, err
	}
	if m.engineErrors, err = register(reg, m.engineErrors); err != nil {
		return nil, err
	}
	if m.breaker, err = register(reg, m.breaker); err != nil {
		return nil, err
	}
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
	m.decisionSeries.init(3, m.decisions.WithLabelValues)
	m.smartidSeries.init(2, m.smartidEvents.WithLabelValues)
	m.depthSeries.init(1, m.smartidDepth.WithLabelValues)
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
		m.decisionSeries.get([3]string{route, action, "none"}).Inc()
		return
	}
	for _, r := range reasons {
		m.decisionSeries.get([3]string{route, action, r}).Inc()
	}
}

// smartidEvent counts one SmartID delivery report.
func (m *metrics) smartidEvent(kind, result string) {
	if m == nil {
		return
	}
	m.smartidSeries.get([3]string{kind, result}).Inc()
}

// engineCall records one engine answer; kind is empty on success.
func (m *metrics) engineCall(name string, latency time.Duration, kind string) {
	if m == nil {
		return
	}
	m.engineLatency.WithLabelValues(name).Observe(latency.Seconds())
	if kind != "" {
		m.engineErrors.WithLabelValues(name, kind).Inc()
	}
}

// breakerChange returns the breaker's state-change hook for one engine.
func (m *metrics) breakerChange(name string) func(from, to engine.State) {
	return func(_, to engine.State) { m.breakerState(name, to) }
}

func (m *metrics) breakerState(name string, s engine.State) {
	if m == nil {
		return
	}
	m.breaker.WithLabelValues(name).Set(float64(s))
}

// smartidQueueDepth records how many SmartID events wait to be sent.
func (m *metrics) smartidQueueDepth(queue string, depth int) {
	if m == nil {
		return
	}
	m.depthSeries.get([3]string{queue}).Set(float64(depth))
}
