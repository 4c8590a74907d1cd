package request

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/metrics"
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
	// CaseSensitiveUsers keeps the case and the accents of user names
	// when counting (they are still trimmed, NFKC-normalised and rid of
	// invisible characters).
	CaseSensitiveUsers bool `json:"case_sensitive_users,omitempty"`
	// LockoutHold bounds how long an attempt still at the upstream holds
	// a lockout slot (default 1m, at most 10m); it should exceed the
	// slowest login.
	LockoutHold caddy.Duration `json:"lockout_hold,omitempty"`
}

// Rules are a provisioned route's compiled rules.
type Rules struct {
	policy *rules.Policy
	// afterEngines holds the `when` rules that read engine signals
	// (score, has_score, engine_reasons): they run once the engines have
	// answered, while every other rule runs first so a rate limit saves
	// the engine call.
	afterEngines *rules.Policy
	canonical    []string // for the admin view
	storeKey     string   // pool key of the store held, "" when none
	reg          *app.RuleRoute
	logger       *zap.Logger
	route        string
	errs         *prometheus.CounterVec
	warned       sync.Map // rule string → struct{}: warn once, then debug
	released     bool     // Cleanup ran (only Cleanup reads or sets it)
}

// IsRuleDirective reports whether key is a rule line; each is one rule,
// so unlike other subdirectives they may repeat.
func IsRuleDirective(key string) bool {
	switch key {
	case "rate", "lockout", "spray", "spread", "device", "when":
		return true
	}
	return false
}

// UnmarshalDirective parses a rule subdirective; ok is false for keys
// that are not the rules'. Errors carry the Caddyfile line.
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
func (o *RuleOptions) UnmarshalDirective(d *caddyfile.Dispenser, key string) (ok bool, err error) {
	switch {
	case IsRuleDirective(key):
		r, err := rules.ParseRule(append([]string{key}, d.RemainingArgs()...))
		if err != nil {
			return true, d.Errf("%v", err)
		}
		if err := checkNotDuplicate(o.Rules, r); err != nil {
			return true, d.Errf("%v", err)
		}
		o.Rules = append(o.Rules, r.String())
	case key == "on_full":
		if err = caddyopt.OneArg(d, &o.OnFull); err == nil {
			err = caddyopt.OneOf(d, o.OnFull, "allow", "challenge", "deny")
		}
	case key == "on_store_failure":
		if err = caddyopt.OneArg(d, &o.OnStoreFailure); err == nil {
			err = caddyopt.OneOf(d, o.OnStoreFailure, "allow", "challenge", "deny")
		}
	case key == "ipv6_prefix":
		o.IPv6Prefix, err = caddyopt.IntArg(d, 1, 128)
	case key == "ipv4_prefix":
		o.IPv4Prefix, err = caddyopt.IntArg(d, 1, 32)
	case key == "case_sensitive_users":
		if d.NextArg() {
			err = d.ArgErr()
		}
		o.CaseSensitiveUsers = true
	case key == "lockout_hold":
		err = caddyopt.DurationArg(d, &o.LockoutHold, rules.MaxHold)
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
		if e, err := rules.ParseRuleString(s); err == nil && countsAttempts(e) {
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

// Detached is the request's context without its cancellation, for what
// must happen even when the client has gone (a ticket settled, a session
// revoked); it lives in the exchange, so asking for it allocates nothing.
func (x *Exchange) Detached() context.Context {
	x.detached = detachedContext{parent: x.Ctx}
	return &x.detached
}

// Provision compiles the route's rules into a policy on the app's counter
// store, checks each against the route's event (and refuses an option
// that tunes no rule given), and registers the policy
// for the admin API; the route's Cleanup undoes it.
func (o *RuleOptions) Provision(h *Route) error {
	if _, err := o.Unused(); err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
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
	if err := caddyopt.CheckDuration("lockout_hold", o.LockoutHold, rules.MaxHold); err != nil {
		return fmt.Errorf("route %q: %v", h.Name, err)
	}
	if len(o.Rules) == 0 {
		return nil
	}
	parsed := make([]rules.Rule, 0, len(o.Rules))
	var late []rules.Rule
	counting := false
	for i, s := range o.Rules {
		r, err := rules.ParseRuleString(s)
		if err != nil {
			return fmt.Errorf("route %q: rules[%d] %q: %v", h.Name, i, s, err)
		}
		if err := ruleFitsEvent(r, h.Event); err != nil {
			return fmt.Errorf("route %q: %v", h.Name, err)
		}
		counting = counting || countsAttempts(r)
		if rules.WaitsForEngines(r) {
			late = append(late, r)
			continue
		}
		parsed = append(parsed, r)
	}
	rt := &Rules{logger: h.Logger, route: h.Name}
	h.Rules = rt
	// The app's collector, registered in the config's registry; a
	// handler built without an app (unit tests) counts into its own.
	if h.App != nil && h.App.Metrics() != nil {
		rt.errs = h.App.Metrics().RuleErrors()
	} else {
		rt.errs = metrics.NewRuleErrorsVec()
	}
	var err error
	var store counter.Store
	if counting {
		if store, rt.storeKey, err = h.App.AcquireRulesStore(); err != nil {
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
		rt.canonical = append(rt.canonical, r.String())
	}
	rt.reg = h.App.Routes().Add(h.Name, p, rt.canonical)
	return nil
}

// onError hears a rule that failed at run time (a when expression over its
// cost limit, a store that failed). The rule's action was applied; this
// counts it and logs it, loudly once per rule and config, then at debug
// level so a client who can make a rule fail cannot flood the log.
func (rt *Rules) onError(rule string, err error) {
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

// ApplyRules evaluates the route's rules before the upstream and merges
// their verdict (worst action wins). A request already denied (deny_ip)
// is not counted: a denied address must not fill the store.
func (x *Exchange) ApplyRules() {
	rt := x.Route.Rules
	if rt == nil || x.Verdict.Action == rules.Deny {
		return
	}
	// A second evaluation of one exchange (it does not happen today)
	// must not leave the first ticket's slots held.
	x.Settle()
	if !rt.policy.TakesSlots() {
		rt.policy.EvaluateInto(x.Ctx, &x.Attempt, nil, &x.Verdict, nil)
		return
	}
	t := ticketPool.Get().(*rules.Ticket)
	if x.rulesTicket = rt.policy.EvaluateInto(x.Ctx, &x.Attempt, nil, &x.Verdict, t); x.rulesTicket == nil {
		ticketPool.Put(t)
	}
}

// ticketPool recycles the rules' tickets, so a login with a lockout does
// not allocate one. A ticket goes back only once it has been observed and
// the exchange has let go of it (observeRules), or when it holds nothing:
// an exchange is its only holder, on the request's goroutine.
var ticketPool = sync.Pool{New: func() any { return new(rules.Ticket) }}

// ObserveOutcome feeds the upstream's answer to rules that count it: a
// failed login counts against lockouts, a success resets them.
func (x *Exchange) ObserveOutcome() {
	x.observeRules(x.Outcome)
}

// Settle ends the attempt's ticket on every path (deny, challenge,
// refusal, upstream error, routes that are not logins) without an
// outcome, so its lockout slots are given back at once rather than
// after lockout_hold. Finish calls it; a ticket already observed is left.
func (x *Exchange) Settle() {
	x.observeRules(rules.OutcomeUnknown)
}

func (x *Exchange) observeRules(o rules.Outcome) {
	t := x.rulesTicket
	if t == nil {
		return
	}
	x.rulesTicket = nil
	rt := x.Route.Rules
	// The request may be over (client gone); the store must still hear it.
	if err := rt.policy.Observe(x.Detached(), t, o); err != nil {
		rt.onError("observe", err)
	}
	ticketPool.Put(t)
}

// ApplyRulesAfterEngines evaluates the `when` rules that read engine
// signals, with the engines' combined score and reasons. It runs after the
// engines, before or after the upstream as the route evaluates them. A
// route that asks no engine still runs them, with has_score false.
func (x *Exchange) ApplyRulesAfterEngines() {
	rt := x.Route.Rules
	if rt == nil || rt.afterEngines == nil || x.Verdict.Action == rules.Deny {
		return
	}
	sig := rules.Signals{Score: x.Verdict.Score, HasScore: x.Verdict.HasScore, EngineReasons: x.Verdict.Reasons}
	v, t := rt.afterEngines.Evaluate(x.Ctx, &x.Attempt, &sig)
	x.Verdict.Merge(v)
	if t != nil {
		_ = rt.afterEngines.Observe(x.Ctx, t, rules.OutcomeUnknown)
	}
}

// Cleanup unregisters the route's policy and releases its hold on the
// app's counter store. Handlers call it from their Cleanup, which Caddy
// also calls when Provision failed half-way, so any part may be unset,
// and which a reload runs while the old config's requests may still be at
// the upstream: h.Rules stays, so they settle their tickets through it
// (a released memory store still answers, it stops nothing; a store whose
// Redis client the old app closed fails, which onError counts).
func (h *Route) Cleanup() {
	if h == nil || h.Rules == nil || h.Rules.released {
		return
	}
	rt := h.Rules
	rt.released = true
	if rt.reg != nil {
		h.App.Routes().Remove(rt.reg)
	}
	if rt.storeKey != "" {
		app.ReleaseRulesStore(rt.storeKey)
	}
}

// RepeatedHeader reports a header some `when` rule of the route reads
// that the request carries more than once (frameworks disagree on which
// copy counts, so such a request is refused rather than judged on one).
func (rt *Rules) RepeatedHeader(h http.Header) (string, bool) {
	if rt == nil {
		return "", false
	}
	for _, p := range []*rules.Policy{rt.policy, rt.afterEngines} {
		if p == nil {
			continue
		}
		if name, repeated := p.RepeatedHeader(h); repeated {
			return name, true
		}
	}
	return "", false
}
