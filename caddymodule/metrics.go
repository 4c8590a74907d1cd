package caddymodule

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/clients/engine"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the guard's collectors. Labels are bounded by the config
// (route names, actions, reasons, event kinds): never a user, an IP or
// anything a client chooses.
//
// Caddy gives every config its own registry, while the SmartID queue and
// requests still in flight outlive a reload. So the collectors live once
// per process (in metricsPool) and every config registers the same ones
// in its own registry: counters carry over a reload and move whichever
// config's request or queue counts, and a scrape of the current config
// sees them. A process restart starts them at zero.
type metrics struct {
	decisions     *prometheus.CounterVec
	smartidEvents *prometheus.CounterVec
	smartidDepth  *prometheus.GaugeVec
	engineLatency *prometheus.HistogramVec
	engineErrors  *prometheus.CounterVec
	breaker       *prometheus.GaugeVec
	ruleErrors    *prometheus.CounterVec

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

// forget drops a series from the cache (its vector deletes it), so a
// later get makes a new one instead of updating the deleted series.
func (l *labelled[M]) forget(values [3]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.m.Load()
	if cur == nil {
		return
	}
	next := make(map[[3]string]M, len(*cur))
	for k, v := range *cur {
		if k != values {
			next[k] = v
		}
	}
	l.m.Store(&next)
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

var metricsPool = caddy.NewUsagePool()

const metricsPoolKey = "login_guard.metrics"

type pooledMetrics struct{ m *metrics }

func (*pooledMetrics) Destruct() error { return nil }

// acquireMetrics takes the process's collectors (creating them on first
// use) and registers them in reg, the config's registry (nil: none).
// Every acquire is matched by a releaseMetrics.
func acquireMetrics(reg *prometheus.Registry) (*metrics, error) {
	v, _, err := metricsPool.LoadOrNew(metricsPoolKey, func() (caddy.Destructor, error) {
		return &pooledMetrics{m: newMetrics()}, nil
	})
	if err != nil {
		return nil, err
	}
	m := v.(*pooledMetrics).m
	if err := m.registerIn(reg); err != nil {
		releaseMetrics()
		return nil, err
	}
	return m, nil
}

func releaseMetrics() { _, _ = metricsPool.Delete(metricsPoolKey) }

func newMetrics() *metrics {
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
		engineLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "engine_latency_seconds",
			Help:    "Engine call latency by engine.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .4, .8, 1.6},
		}, []string{"engine"}),
		engineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "engine_errors_total",
			Help: "Engine failures by engine and kind (timeout, refused, status_5xx, status_4xx, malformed, unknown_decision, breaker_open).",
		}, []string{"engine", "kind"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "engine_breaker_state",
			Help: "Circuit breaker state by engine: 0 closed, 1 open, 2 half-open.",
		}, []string{"engine"}),
		ruleErrors: newRuleErrorsVec(),
	}
	m.decisionSeries.init(3, m.decisions.WithLabelValues)
	m.smartidSeries.init(2, m.smartidEvents.WithLabelValues)
	m.depthSeries.init(1, m.smartidDepth.WithLabelValues)
	return m
}

// registerIn registers every collector in reg. The same collector already
// there (Provision run twice on one config) is fine; another one by the
// same name is an error.
func (m *metrics) registerIn(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.decisions, m.smartidEvents, m.smartidDepth, m.engineLatency, m.engineErrors, m.breaker, m.ruleErrors} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return err
		}
	}
	return nil
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

// smartidDropped counts an event the guard could not queue because its
// queue had been closed; the queue reports every other outcome itself.
func (m *metrics) smartidDropped(kind string) {
	if m == nil {
		return
	}
	m.smartidEvents.WithLabelValues(kind, "dropped").Inc()
}

// forgetQueue removes a closed queue's depth gauge.
func (m *metrics) forgetQueue(queue string) {
	if m != nil {
		m.depthSeries.forget([3]string{queue})
		m.smartidDepth.DeleteLabelValues(queue)
	}
}

// resetBreakers makes the breaker gauge show the given engines, all
// closed: a config's breakers start closed, and engines a reload removed
// must not linger.
func (m *metrics) resetBreakers(names []string) {
	if m == nil {
		return
	}
	m.breaker.Reset()
	for _, n := range names {
		m.breaker.WithLabelValues(n).Set(float64(engine.Closed))
	}
}
