package caddymodule

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/redisstore"
	"github.com/login-guard/login_guard/rules"
	"github.com/login-guard/login_guard/rules/counter"
)

// RuleOptions are a route's local rules: rate limits, lockouts, spraying
// and spreading signals, device checks and when expressions (package
// rules). They work with no engine and no SmartID at all.
type RuleOptions struct {
	// Rules in config order, each in the form rules.Rule.String renders
	// (the Caddyfile line without its indentation), e.g.
	// "rate ip 5/1m deny", "lockout ip_user 5/15m for 30m challenge",
	// `when "user_agent == \"\"" challenge no_agent`.
	Rules []string `json:"rules,omitempty"`
	// OnFull is allow, challenge (default) or deny: what a request whose
	// new key the counter store cannot hold meets (see docs/rules.md).
	OnFull string `json:"on_full,omitempty"`
	// OnStoreFailure is allow, challenge or deny (default): what a
	// request meets when the shared store (store redis) cannot be reached
	// or answers too late. The default is deny because a challenge cannot
	// be completed on another instance without the store.
	OnStoreFailure string `json:"on_store_failure,omitempty"`
	// IPv6Prefix and IPv4Prefix are the prefix lengths clients are
	// counted by (defaults 64 and 32).
	IPv6Prefix int `json:"ipv6_prefix,omitempty"`
	IPv4Prefix int `json:"ipv4_prefix,omitempty"`
	// CaseSensitiveUsers keeps the case of user names when counting
	// (they are still trimmed and NFKC-normalised).
	CaseSensitiveUsers bool `json:"case_sensitive_users,omitempty"`
	// LockoutHold bounds how long an attempt still at the upstream holds
	// a lockout slot (default 1m); it should exceed the slowest login.
	LockoutHold caddy.Duration `json:"lockout_hold,omitempty"`

	rulesRT *rulesRuntime
}

// rulesRuntime is what a provisioned handler holds for its rules.
type rulesRuntime struct {
	policy *rules.Policy
	// afterEngines holds the `when` rules that read engine signals
	// (score, has_score, engine_reasons): they run once the engines have
	// answered, while every other rule runs first so a rate limit saves
	// the engine call.
	afterEngines *rules.Policy
	rules        []string // canonical, for the admin view
	storeKey     string   // pool key of the store held, "" when none
	reg          *ruleRoute
	logger       *zap.Logger
	route        string
	errs         *prometheus.CounterVec
	warned       sync.Map // rule string → struct{}: warn once, then debug
}

// isRuleDirective reports whether key is a rule (each line is one rule).
func isRuleDirective(key string) bool {
	switch key {
	case "rate", "lockout", "spray", "spread", "device", "when":
		return true
	}
	return false
}

// isRepeatableRule reports whether a rule subdirective may be given more
// than once: every rule may, the route options may not.
func isRepeatableRule(key string) bool { return isRuleDirective(key) }

// unmarshalRuleDirective parses a rule subdirective; ok is false for keys
// that are not rules. Errors carry the Caddyfile line.
//
//	rate    <ip|user|device|ip_user> <N>/<window> [deny|challenge] [monitor]
//	lockout <user|ip|ip_user> <N>/<window> for <duration> [deny|challenge] [monitor]
//	spray   [ip] <N>/<window> [deny|challenge] [monitor]
//	spread  [user] <N>/<window> [deny|challenge] [monitor]
//	device  missing|empty <challenge|deny> [monitor]
//	when    "<CEL expression>" <allow|challenge|deny> [reason] [monitor]
//	on_full allow|challenge|deny
//	on_store_failure allow|challenge|deny
//	ipv6_prefix <1-128>
//	ipv4_prefix <1-32>
//	case_sensitive_users
//	lockout_hold <duration>
func (h *Handler) unmarshalRuleDirective(d *caddyfile.Dispenser, key string) (ok bool, err error) {
	o := &h.RuleOptions
	switch {
	case isRuleDirective(key):
		r, err := rules.ParseRule(append([]string{key}, d.RemainingArgs()...))
		if err != nil {
			return true, d.Errf("%v", err)
		}
		if err := checkNotDuplicate(o.Rules, r); err != nil {
			return true, d.Errf("%v", err)
		}
		o.Rules = append(o.Rules, r.String())
	case key == "on_full":
		if err = oneArg(d, &o.OnFull); err == nil {
			err = oneOf(d, o.OnFull, "allow", "challenge", "deny")
		}
	case key == "on_store_failure":
		if err = oneArg(d, &o.OnStoreFailure); err == nil {
			err = oneOf(d, o.OnStoreFailure, "allow", "challenge", "deny")
		}
	case key == "ipv6_prefix":
		o.IPv6Prefix, err = intArg(d, 1, 128)
	case key == "ipv4_prefix":
		o.IPv4Prefix, err = intArg(d, 1, 32)
	case key == "case_sensitive_users":
		if d.NextArg() {
			err = d.ArgErr()
		}
		o.CaseSensitiveUsers = true
	case key == "lockout_hold":
		err = durationArg(d, &o.LockoutHold)
	default:
		return false, nil
	}
	return true, err
}

// checkNotDuplicate refuses a counting rule that counts the same thing as
// an earlier one (it would count every attempt twice), at parse time so
// the error names the line.
func checkNotDuplicate(earlier []string, r rules.Rule) error {
	if !countsAttempts(r) {
		return nil
	}
	var rs []rules.Rule
	for _, s := range earlier {
		if e, err := parseRuleString(s); err == nil && countsAttempts(e) {
			rs = append(rs, e)
		}
	}
	probe, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 1})
	if err != nil {
		return err
	}
	_, err = rules.NewPolicy(rules.PolicyConfig{Scope: "parse", Rules: append(rs, r), Store: probe})
	return err
}

func countsAttempts(r rules.Rule) bool {
	switch r.(type) {
	case *rules.RateRule, *rules.DistinctRule, *rules.LockoutRule:
		return true
	}
	return false
}

// detachedContext is context.WithoutCancel held in the exchange, so
// settling a ticket allocates no context: the parent's values, never its
// cancellation or deadline.
type detachedContext struct{ parent context.Context }

func (detachedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (detachedContext) Done() <-chan struct{}       { return nil }
func (detachedContext) Err() error                  { return nil }
func (c *detachedContext) Value(key any) any        { return c.parent.Value(key) }

// provisionRules compiles the route's rules into a policy on the shared
// counter store and registers it for the admin API.
func (h *Handler) provisionRules() error {
	o := &h.RuleOptions
	norm := rules.Normalizer{IPv6Prefix: o.IPv6Prefix, IPv4Prefix: o.IPv4Prefix, CaseSensitive: o.CaseSensitiveUsers}
	if err := norm.Validate(); err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
	var onFull *rules.Action
	if o.OnFull != "" {
		a, err := rules.ParseAction(o.OnFull)
		if err != nil {
			return fmt.Errorf("route %q: on_full: %v", h.Name, err)
		}
		onFull = &a
	}
	// A failed shared store denies by default: the attempt cannot be
	// counted, and a challenge could not be completed on another instance.
	onStoreFailure := rules.Deny
	if o.OnStoreFailure != "" {
		a, err := rules.ParseAction(o.OnStoreFailure)
		if err != nil {
			return fmt.Errorf("route %q: on_store_failure: %v", h.Name, err)
		}
		onStoreFailure = a
	}
	if o.LockoutHold < 0 {
		return fmt.Errorf("route %q: lockout_hold must be positive", h.Name)
	}
	if len(o.Rules) == 0 {
		return nil
	}
	parsed := make([]rules.Rule, 0, len(o.Rules))
	var late []rules.Rule
	counting := false
	for i, s := range o.Rules {
		r, err := parseRuleString(s)
		if err != nil {
			return fmt.Errorf("route %q: rules[%d] %q: %v", h.Name, i, s, err)
		}
		switch r.(type) {
		case *rules.LockoutRule:
			if h.Event != EventLogin {
				return fmt.Errorf("route %q: %s: a lockout counts failed logins judged from the upstream's answer, so it needs event login, not %s", h.Name, r, h.Event)
			}
		case *rules.DeviceRule:
			if h.Event == EventStepUp {
				return fmt.Errorf("route %q: %s: step-up pages carry no SmartID payload, so a device rule would fire on every request", h.Name, r)
			}
		}
		counting = counting || countsAttempts(r)
		if readsEngineSignals(r) {
			late = append(late, r)
			continue
		}
		parsed = append(parsed, r)
	}
	rt := &rulesRuntime{logger: h.logger, route: h.Name}
	o.rulesRT = rt
	// The app's collector, registered in the config's registry; a
	// handler built without an app (unit tests) counts into its own.
	if h.app != nil && h.app.metrics != nil {
		rt.errs = h.app.metrics.ruleErrors
	} else {
		rt.errs = newRuleErrorsVec()
	}
	var err error
	var store counter.Store
	switch {
	case counting && h.app != nil && h.app.redis != nil:
		store = redisstore.NewCounter(h.app.redis)
	case counting:
		var cfg *RulesStoreConfig
		if h.app != nil {
			cfg = h.app.RulesStore
		}
		if store, rt.storeKey, err = acquireRulesStore(cfg); err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
	}
	p, err := rules.NewPolicy(rules.PolicyConfig{
		Scope:      h.Name,
		Rules:      parsed,
		Store:      store,
		Normalizer: norm,
		OnFull:     onFull,
		// Only a shared store fails; the memory store never does.
		OnStoreFailure: &onStoreFailure,
		// allow_ip in the handler already short-circuits everything; a
		// JSON allow_ip rule behaves the same.
		AllowShortCircuit: true,
		Hold:              time.Duration(o.LockoutHold),
		OnError:           rt.onError,
	})
	if err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
	rt.policy = p
	if len(late) > 0 {
		if rt.afterEngines, err = rules.NewPolicy(rules.PolicyConfig{Scope: h.Name + "/after_engines", Rules: late, Normalizer: norm, OnError: rt.onError}); err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
	}
	for _, r := range append(parsed, late...) {
		rt.rules = append(rt.rules, r.String())
	}
	rt.reg = ruleRoutes.add(h.Name, p, rt.rules)
	return nil
}

// onError hears a rule that failed at run time (a when expression over its
// cost limit, a store that failed). The rule's action was applied; this
// counts it and logs it, loudly once per rule and config, then at debug
// level so a client who can make a rule fail cannot flood the log.
func (rt *rulesRuntime) onError(rule string, err error) {
	kind, _, _ := strings.Cut(rule, " ")
	rt.errs.WithLabelValues(rt.route, kind).Inc()
	level := zap.DebugLevel
	if _, seen := rt.warned.LoadOrStore(rule, struct{}{}); !seen {
		level = zap.WarnLevel
	}
	if ce := rt.logger.Check(level, "local rule failed; its action applied"); ce != nil {
		ce.Write(zap.String("route", rt.route), zap.String("rule", rule), zap.Error(err))
	}
}

// applyRules evaluates the route's rules before the upstream and merges
// their verdict (worst action wins). A request already denied (deny_ip)
// is not counted: a denied address must not fill the store.
func (x *exchange) applyRules() {
	rt := x.h.rulesRT
	if rt == nil || x.verdict.Action == rules.Deny {
		return
	}
	// A second evaluation of one exchange (it does not happen today)
	// must not leave the first ticket's slots held.
	x.settleRules()
	v, t := rt.policy.Evaluate(x.ctx, &x.attempt, nil)
	x.verdict.Merge(v)
	x.rulesTicket = t
}

// observeOutcome feeds the upstream's answer to rules that count it: a
// failed login counts against lockouts, a success resets them.
func (x *exchange) observeOutcome() {
	x.observeRules(x.outcome)
}

// settleRules ends the attempt's ticket on every path (deny, challenge,
// refusal, upstream error, routes that are not logins) without an
// outcome, so its lockout slots are given back at once rather than
// after lockout_hold. finish calls it; a ticket already observed is left.
func (x *exchange) settleRules() {
	x.observeRules(rules.OutcomeUnknown)
}

func (x *exchange) observeRules(o rules.Outcome) {
	t := x.rulesTicket
	if t == nil {
		return
	}
	x.rulesTicket = nil
	rt := x.h.rulesRT
	// The request may be over (client gone); the store must still hear it.
	x.detached = detachedContext{parent: x.ctx}
	if err := rt.policy.Observe(&x.detached, t, o); err != nil {
		rt.onError("observe", err)
	}
}
