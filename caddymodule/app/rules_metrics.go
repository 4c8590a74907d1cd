package app

import (
	"github.com/prometheus/client_golang/prometheus"
)

// NewRuleErrorsVec counts local rules that failed at run time, by route
// and rule kind (rate, lockout, when, observe, ...): bounded by the config,
// never by what a client sends.
func NewRuleErrorsVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "login_guard", Name: "rule_errors_total",
		Help: "Local rules that failed at run time (their action applied), by route and rule kind.",
	}, []string{"route", "kind"})
}
