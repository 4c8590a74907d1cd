// Package metrics holds the guard's Prometheus collectors: their names,
// help and labels, and series cached by label values. Labels are bounded
// by the config (routes, actions, reasons, engines, event kinds), never by
// what a client sends. The app keeps one set per process and registers it
// in every config's registry.
package metrics

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/login-guard/login_guard/internal/newest"
)

// Collectors are the guard's collectors. Labels are bounded by the config
// (route names, actions, reasons, event kinds): never a user, an IP or
// anything a client chooses.
//
// Caddy gives every config its own registry, while the SmartID queue and
// requests still in flight outlive a reload. So the collectors live once
// per process (the app pools them) and every config registers the same ones
// in its own registry: counters carry over a reload and move whichever
// config's request or queue counts, and a scrape of the current config
// sees them. A process restart starts them at zero.
type Collectors struct {
	decisions     *prometheus.CounterVec
	smartidEvents *prometheus.CounterVec
	smartidDepth  *prometheus.GaugeVec
	engineLatency *prometheus.HistogramVec
	engineErrors  *prometheus.CounterVec
	breaker       *prometheus.GaugeVec
	ruleErrors    *prometheus.CounterVec
	smileidCalls  *prometheus.CounterVec
	smileidTime   *prometheus.HistogramVec

	// shown: the configs whose breakers the breaker gauge may show, the
	// newest last (see Breakers).
	shown newest.Values[*Breakers]
	// breakerMu orders the gauge's writes: a config taking it over, and a
	// breaker's change shown only if its config still has it.
	breakerMu sync.Mutex
	// shownBy is the config the gauge shows (under breakerMu).
	shownBy *Breakers

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
// small. In front of it, recent answers most reads with three string
// compares instead of hashing the three values: the series each slot last
// returned, the slot chosen by the values' lengths and last bytes (a route
// counts the same few decisions over and over).
type labelled[M any] struct {
	with   func(...string) M // the vector's WithLabelValues
	n      int               // how many labels the vector has
	max    int               // series past which the last label is Overflow; 0: no bound
	m      atomic.Pointer[map[[3]string]*series[M]]
	mu     sync.Mutex // serialises the map's replacement
	recent [16]atomic.Pointer[series[M]]
}

// series is one cached series and its label values, made once per series
// so that a slot takes it without allocating.
type series[M any] struct {
	key [3]string
	m   M
}

func (l *labelled[M]) init(n int, with func(...string) M) { l.n, l.with = n, with }

func recentSlot(values [3]string) int {
	h := uint(0)
	for _, v := range values {
		h = h*31 + uint(len(v))
		if v != "" {
			h = h*31 + uint(v[len(v)-1])
		}
	}
	return int(h % 16)
}

func (l *labelled[M]) get(values [3]string) M {
	slot := &l.recent[recentSlot(values)]
	if s := slot.Load(); s != nil && s.key == values {
		return s.m
	}
	var s *series[M]
	if cur := l.m.Load(); cur != nil {
		s = (*cur)[values]
	}
	if s == nil {
		s = l.add(values)
	}
	slot.Store(s)
	// A forget that replaced the map meanwhile may have cleared the slots
	// before this store: a series no longer in the map leaves its slot.
	if cur := l.m.Load(); cur == nil || (*cur)[values] != s {
		slot.CompareAndSwap(s, nil)
	}
	return s.m
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
	next := make(map[[3]string]*series[M], len(*cur))
	for k, v := range *cur {
		if k != values {
			next[k] = v
		}
	}
	l.m.Store(&next)
	// After the map: a get that stored the series in a slot before this
	// finds it cleared, and one that stores it after finds the new map.
	for i := range l.recent {
		if s := l.recent[i].Load(); s != nil && s.key == values {
			l.recent[i].CompareAndSwap(s, nil)
		}
	}
}

// add creates a series on first use. Apart from get so that only this
// path pays for the label values escaping to the heap.
func (l *labelled[M]) add(values [3]string) *series[M] {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.m.Load()
	next := make(map[[3]string]*series[M], 1)
	if cur != nil {
		if s, ok := (*cur)[values]; ok {
			return s
		}
		if l.max > 0 && len(*cur) >= l.max {
			// Past the bound a new value of the last label counts as
			// Overflow: a label an outside service fills (the reasons an
			// http engine's scoring service gives) must not grow the
			// series, and this map, without end.
			values[l.n-1] = Overflow
			if s, ok := (*cur)[values]; ok {
				return s
			}
		}
		for k, v := range *cur {
			next[k] = v
		}
	}
	s := &series[M]{key: values, m: l.with(values[:l.n]...)}
	next[values] = s
	l.m.Store(&next)
	return s
}

// MaxDecisionSeries bounds decisions_total's series (route, action,
// reason): far more than a config's own reasons make, few enough that
// reasons an engine's service words freely cannot swell the scrape.
const MaxDecisionSeries = 4096

// Overflow is the reason a decision counts under once MaxDecisionSeries
// series exist.
const Overflow = "other"

// New makes the guard's collectors, registered nowhere yet.
func New() *Collectors {
	m := &Collectors{
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
			Help: "Engine failures by engine and kind (timeout, refused, status_5xx, status_4xx, status_other, malformed, unknown_decision, breaker_open, canceled, error).",
		}, []string{"engine", "kind"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "engine_breaker_state",
			Help: "Circuit breaker state by engine: 0 closed, 1 open, 2 half-open.",
		}, []string{"engine"}),
		ruleErrors: NewRuleErrorsVec(),
		smileidCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "smileid_calls_total",
			Help: "Calls to Smile ID by call (upload, zip_put, job_status) and outcome (ok, timeout, refused, canceled, status_5xx, status_4xx, status_other, malformed, signature, mismatch, error).",
		}, []string{"call", "outcome"}),
		smileidTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy", Subsystem: "login_guard", Name: "smileid_call_latency_seconds",
			Help:    "Smile ID call latency by call, whatever the outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"call"}),
	}
	m.decisionSeries.init(3, m.decisions.WithLabelValues)
	m.decisionSeries.max = MaxDecisionSeries
	m.smartidSeries.init(2, m.smartidEvents.WithLabelValues)
	m.depthSeries.init(1, m.smartidDepth.WithLabelValues)
	return m
}

// RegisterIn registers every collector in reg. The same collector already
// there (Provision run twice on one config) is fine; another one by the
// same name is an error.
func (m *Collectors) RegisterIn(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.decisions, m.smartidEvents, m.smartidDepth, m.engineLatency, m.engineErrors, m.breaker, m.ruleErrors, m.smileidCalls, m.smileidTime} {
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

// Decision counts one verdict; a verdict with no reason counts as "none".
func (m *Collectors) Decision(route, action string, reasons []string) {
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

// SmartIDEvent counts one SmartID delivery report.
func (m *Collectors) SmartIDEvent(kind, result string) {
	if m == nil {
		return
	}
	m.smartidSeries.get([3]string{kind, result}).Inc()
}

// EngineCall records one engine answer; kind is empty on success.
func (m *Collectors) EngineCall(name string, latency time.Duration, kind string) {
	if m == nil {
		return
	}
	m.engineLatency.WithLabelValues(name).Observe(latency.Seconds())
	if kind != "" {
		m.engineErrors.WithLabelValues(name, kind).Inc()
	}
}

// SmileIDCall records one outbound call to Smile ID: call is the
// client's operation (upload, zip_put, job_status) and outcome one of its
// fixed outcomes (clients/smileid's Outcome constants), never a status
// code, a vendor code or a job id.
func (m *Collectors) SmileIDCall(call, outcome string, latency time.Duration) {
	if m == nil {
		return
	}
	m.smileidCalls.WithLabelValues(call, outcome).Inc()
	m.smileidTime.WithLabelValues(call).Observe(latency.Seconds())
}

// SmartIDQueueDepth records how many SmartID events wait to be sent.
func (m *Collectors) SmartIDQueueDepth(queue string, depth int) {
	if m == nil {
		return
	}
	m.depthSeries.get([3]string{queue}).Set(float64(depth))
}

// SmartIDDropped counts an event the guard could not queue because its
// queue had been closed; the queue reports every other outcome itself.
func (m *Collectors) SmartIDDropped(kind string) {
	if m == nil {
		return
	}
	m.smartidEvents.WithLabelValues(kind, "dropped").Inc()
}

// ForgetQueue removes a closed queue's depth gauge.
func (m *Collectors) ForgetQueue(queue string) {
	if m != nil {
		m.depthSeries.forget([3]string{queue})
		m.smartidDepth.DeleteLabelValues(queue)
	}
}

// RuleErrors counts local rules that failed at run time, by route and
// rule kind; nil outside Caddy.
func (m *Collectors) RuleErrors() *prometheus.CounterVec {
	if m == nil {
		return nil
	}
	return m.ruleErrors
}

// NewRuleErrorsVec counts local rules that failed at run time, by route
// and rule kind (rate, lockout, when, observe, ...): bounded by the config,
// never by what a client sends.
func NewRuleErrorsVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "login_guard", Name: "rule_errors_total",
		Help: "Local rules that failed at run time (their action applied), by route and rule kind.",
	}, []string{"route", "kind"})
}
