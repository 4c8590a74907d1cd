package rules

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// DefaultHold is how long a lockout slot held by an attempt in flight
// counts when Observe never settles it (a crashed upstream, a dropped
// connection). It should exceed the upstream's slowest login.
const DefaultHold = time.Minute

// MaxHold bounds the hold a route's config gives (lockout_hold): no login
// takes ten minutes, and a slot left held by a request that never
// settled keeps counting for that long.
const MaxHold = 10 * time.Minute

// PolicyConfig is one guarded route's local rules.
type PolicyConfig struct {
	// Scope names the route; counter ids are Scope + "/" + the rule's
	// config form, so counters survive a reload that keeps the rule and
	// start afresh when its key or limit changes. Required when Rules
	// count anything.
	Scope string
	// Rules in config order. IP rules run first (allow before deny), then
	// the counting rules (rate, spray, spread, lockout) in order, then
	// device and when rules in order, so expressions see this attempt's
	// counts. The worst action wins and every reason is kept.
	Rules []Rule
	// Store holds the counters; required when a rule counts. Several
	// policies may share one store (their ids differ by Scope).
	Store counter.Store
	// Normalizer turns users and addresses into keys (zero: defaults).
	Normalizer Normalizer
	// OnFull is the action when the store cannot hold a new key or fails;
	// nil means Challenge. Flooding the store with new keys (a million
	// addresses) then makes new visitors meet OnFull while keys already
	// limited or locked stay so: Challenge keeps real users able to get
	// in, Deny fails closed, Allow fails open.
	OnFull *Action
	// OnStoreFailure is the action when the store fails (a shared store
	// unreachable, slow or refusing); nil means OnFull's action.
	OnStoreFailure *Action
	// AllowShortCircuit makes an allow_ip match end evaluation: nothing
	// else is counted or checked for those addresses.
	AllowShortCircuit bool
	// Hold bounds an unsettled lockout slot (default DefaultHold).
	Hold time.Duration
	// OnError, when set, hears run-time failures: a when expression that
	// failed, a store that failed. rule is the rule's config form. The
	// error never holds the attempt's data. Called synchronously.
	OnError func(rule string, err error)
}

// Policy evaluates a route's rules for each attempt. It is safe for
// concurrent use and holds no per-attempt state.
type Policy struct {
	allowIP, denyIP []*IPRule
	counting        []countingRule
	conditions      []Rule // *DeviceRule and *WhenRule
	anyWhen         bool
	// countsPair: a counting rule's key is ip_user.
	countsPair bool
	// takesSlots: a lockout rule reserves slots (see TakesSlots).
	takesSlots bool

	store counter.Store
	// memory is store when it is the in-process one, called directly
	// (see run).
	memory *counter.Memory
	// deferrer is store when it settles after the request (see
	// deferSettlement).
	deferrer counter.Deferrer
	norm     Normalizer
	onFull   Action
	// onStoreFailure is the action when the store fails.
	onStoreFailure Action
	allowSC        bool
	hold           time.Duration
	onError        func(string, error)
	scope          string

	counterNames []string
}

// countingRule is a rate, distinct or lockout rule with its counter id and
// its name for expressions.
type countingRule struct {
	rule    Rule
	id      string
	name    string
	key     KeyKind
	value   KeyKind // distinct rules: what is counted distinctly
	limit   int
	window  time.Duration
	lockout counter.Lockout
	kind    uint8
}

const (
	countRate = iota
	countDistinct
	countLockout
)

// RepeatedHeader reports whether a header one of the policy's when rules
// reads comes more than once in h, and which (a name from a rule, or the
// request's for a rule that reads every header). A caller should refuse
// such a request: the rule would see the values joined while the portal
// reads one of them.
func (p *Policy) RepeatedHeader(h http.Header) (string, bool) {
	for _, r := range p.conditions {
		if w, ok := r.(*WhenRule); ok {
			if name, rep := w.repeatedHeader(h); rep {
				return name, true
			}
		}
	}
	return "", false
}

// NewPolicy checks and assembles a policy. Errors name the rule.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	if err := cfg.Normalizer.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{
		store:   cfg.Store,
		norm:    cfg.Normalizer,
		onFull:  Challenge,
		allowSC: cfg.AllowShortCircuit,
		hold:    cfg.Hold,
		onError: cfg.OnError,
		scope:   cfg.Scope,
	}
	p.memory, _ = cfg.Store.(*counter.Memory)
	p.deferrer, _ = cfg.Store.(counter.Deferrer)
	if cfg.OnFull != nil {
		p.onFull = *cfg.OnFull
	}
	p.onStoreFailure = p.onFull
	if cfg.OnStoreFailure != nil {
		p.onStoreFailure = *cfg.OnStoreFailure
	}
	if p.hold == 0 {
		p.hold = DefaultHold
	}
	if p.hold < 0 {
		return nil, errors.New("hold must be positive")
	}
	ids := map[string]bool{}
	names := map[string]int{}
	var whens []*WhenRule
	for _, r := range cfg.Rules {
		if r == nil {
			return nil, errors.New("nil rule")
		}
		cr := countingRule{rule: r}
		switch r := r.(type) {
		case *IPRule:
			if r.allow {
				p.allowIP = append(p.allowIP, r)
			} else {
				p.denyIP = append(p.denyIP, r)
			}
			continue
		case *DeviceRule:
			p.conditions = append(p.conditions, r)
			continue
		case *WhenRule:
			p.conditions = append(p.conditions, r)
			p.anyWhen = true
			whens = append(whens, r)
			continue
		case *RateRule:
			cr.kind, cr.key, cr.limit, cr.window = countRate, r.Key, r.Limit, r.Window
			cr.id = r.spec()
		case *DistinctRule:
			cr.kind, cr.limit, cr.window = countDistinct, r.Limit, r.Window
			cr.key, cr.value = r.keys()
			cr.id = r.spec()
		case *LockoutRule:
			cr.kind, cr.key = countLockout, r.Key
			cr.lockout = counter.Lockout{Limit: r.Limit, Window: r.Window, LockFor: r.LockFor, Hold: p.hold}
			cr.id = r.spec()
			p.takesSlots = true
		default:
			return nil, fmt.Errorf("unsupported rule type %T", r)
		}
		if cfg.Store == nil {
			return nil, fmt.Errorf("%s: a counter store is required", r)
		}
		if cfg.Scope == "" {
			return nil, fmt.Errorf("%s: the policy needs a scope (the route's name) to name its counters", r)
		}
		if ids[cr.id] {
			return nil, fmt.Errorf("%s: duplicate rule (it would count every attempt twice)", r)
		}
		ids[cr.id] = true
		cr.id = cfg.Scope + "/" + cr.id
		// Expressions name counters by reason; repeats get _2, _3, ...
		base := r.Reason()
		names[base]++
		cr.name = base
		if n := names[base]; n > 1 {
			cr.name = base + "_" + strconv.Itoa(n)
		}
		p.countsPair = p.countsPair || cr.key == KeyIPUser
		p.counting = append(p.counting, cr)
	}
	for _, w := range whens {
		for _, ref := range w.counterRefs {
			if !p.hasCounter(ref) {
				return nil, fmt.Errorf("%s: unknown counter %q (this route counts: %s)", w, ref, p.counterList())
			}
		}
	}
	p.counterNames = p.CounterNames()
	return p, nil
}

func (p *Policy) hasCounter(name string) bool {
	for _, c := range p.counting {
		if c.name == name {
			return true
		}
	}
	return false
}

func (p *Policy) counterList() string {
	if len(p.counting) == 0 {
		return "nothing"
	}
	var s []string
	for _, c := range p.counting {
		s = append(s, c.name)
	}
	return strings.Join(s, ", ")
}

// CounterNames lists the names expressions use for this policy's counting
// rules, in order ("rate_ip", "lockout_user", "rate_ip_2", ...).
func (p *Policy) CounterNames() []string {
	out := make([]string, len(p.counting))
	for i, c := range p.counting {
		out[i] = c.name
	}
	return out
}

var activationPool = sync.Pool{New: func() any { return new(activation) }}
