package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/login-guard/login_guard/clients/loginid"
)

// RegisterMetrics exposes the connection's totals in reg (nil: nowhere). The values are
// read at scrape time from the pooled connection, so they survive reloads.
func (c *Conn) RegisterMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	fs := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_calls_total",
			Help: "Round trips to the shared store (a request's batch is one)."}, func() float64 { return float64(c.Stats().Calls) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_failures_total",
			Help: "Round trips that failed: the store unreachable, too slow, or not serving."}, func() float64 { return float64(c.Stats().Failures) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_breaker_refusals_total",
			Help: "Calls not made because the store's breaker was open."}, func() float64 { return float64(c.Stats().RefusedOpen) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_out_of_memory_total",
			Help: "Writes the store refused for want of memory (on_full applied)."}, func() float64 { return float64(c.Stats().OutOfMemory) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_breaker_open",
			Help: "1 while the shared store's breaker is open (calls fail at once)."}, func() float64 {
			if c.Stats().BreakerOpen {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_settlements_queued",
			Help: "Lockout settlements waiting to be sent to the shared store (they are sent after the answer)."}, func() float64 {
			return float64(c.Stats().SettlementsQueued)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "caddy", Subsystem: "login_guard", Name: "store_logouts_kept",
			Help: "Logouts the shared store did not take, kept by this instance and sent again every second."}, func() float64 {
			return float64(c.Stats().LogoutsKept)
		}),
	}
	for _, f := range fs {
		if err := reg.Register(f); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// LoginIDReplayCache is LoginID's replay cache on the shared one-time set:
// a token accepted on one instance is a replay on every other. It fails
// closed: an error refuses the token.
type LoginIDReplayCache struct{ Set *OnceSet }

// replayCallTimeout bounds Remember, which carries no context of its own;
// the store's own per-call timeout applies within it.
const replayCallTimeout = 5 * time.Second

// Remember records a token until it expires, or says it was seen.
func (r LoginIDReplayCache) Remember(key loginid.ReplayKey, until, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), replayCallTimeout)
	defer cancel()
	switch err := r.Set.Remember(ctx, key[:], until.Sub(now)); {
	case errors.Is(err, ErrSeen):
		return loginid.ErrReplayed
	default:
		// Out of memory or unreachable: the verifier refuses the token
		// (replay_unavailable), whatever the route's failure policy.
		return err
	}
}
