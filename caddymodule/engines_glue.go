package caddymodule

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/engines"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/rules"

	// The engines shipped with the module.
	_ "github.com/login-guard/login_guard/caddymodule/engines/forter"
	_ "github.com/login-guard/login_guard/caddymodule/engines/httpengine"
	sandboxmod "github.com/login-guard/login_guard/caddymodule/engines/sandbox"
)

// Evaluation points for engines.
const (
	EvaluateBefore = "before_upstream"
	EvaluateAfter  = "after_upstream"
)

// EngineOptions are a route's engine settings.
type EngineOptions struct {
	// Engines names the engines this route asks, in the global block.
	Engines []string `json:"engines,omitempty"`
	// Evaluate is before_upstream (default) or after_upstream: forward the
	// login first, and ask the engines only about logins the upstream
	// accepted, withholding its answer until they decide.
	Evaluate string `json:"evaluate,omitempty"`
	// Deadline bounds all engines together (default 800ms).
	Deadline caddy.Duration `json:"deadline,omitempty"`
	// OnEngineFailure is allow (default), challenge or deny: what a
	// timeout, refusal, 5xx, malformed answer or open breaker means.
	OnEngineFailure string `json:"on_engine_failure,omitempty"`
	// Mode monitor computes, logs and counts the verdict but always passes.
	Mode string `json:"mode,omitempty"`
	// HoldLimit caps the upstream response held back while engines decide
	// after the upstream (default 1MiB).
	HoldLimit int `json:"hold_limit,omitempty"`
	// AccountID is a placeholder for the portal's account id, told to
	// engines that want it (Forter); for example a response header of the
	// portal's, {http.reverse_proxy.header.X-Account-Id}, with evaluate
	// after_upstream. Without it Forter gets NO_ACCOUNT_ID and the typed
	// user.
	AccountID string `json:"account_id,omitempty"`

	engines   []rules.Engine
	onFailure rules.Action
}

// AppEngines are the engine guest modules configured in the global block.
type AppEngines struct {
	// EnginesRaw are the engines, each with its module name under "engine".
	EnginesRaw []json.RawMessage `json:"engines,omitempty" caddy:"namespace=login_guard.engines inline_key=engine"`
	// Breaker tunes every engine's circuit breaker.
	Breaker *BreakerConfig `json:"breaker,omitempty"`

	engineByName map[string]*engine.Guarded
	postAuth     map[string]bool
}

// BreakerConfig tunes the per-engine circuit breakers.
type BreakerConfig struct {
	// Failures is the number of consecutive engine failures (timeouts,
	// refusals, 5xx, malformed answers; never 4xx) that opens it
	// (default 5).
	Failures int `json:"failures,omitempty"`
	// CoolDown is how long it stays open before a probe (default 30s).
	CoolDown caddy.Duration `json:"cool_down,omitempty"`
}

// heldResponse is an upstream response withheld after the upstream.
type heldResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}

func (a *App) unmarshalEngineOption(d *caddyfile.Dispenser, key string) (bool, error) {
	if key == "breaker" {
		a.Breaker = new(BreakerConfig)
		return true, a.Breaker.unmarshal(d)
	}
	id := engines.Namespace + "." + key
	if _, err := caddy.GetModule(id); err != nil {
		return false, nil
	}
	mod, err := caddyfile.UnmarshalModule(d, id)
	if err != nil {
		return true, err
	}
	a.EnginesRaw = append(a.EnginesRaw, caddyconfig.JSONModuleObject(mod, "engine", key, nil))
	return true, nil
}

func (b *BreakerConfig) unmarshal(d *caddyfile.Dispenser) error {
	return eachOption(d, "breaker", nil, func(key string) error {
		var err error
		switch key {
		case "failures":
			b.Failures, err = intArg(d, 1, 1000)
		case "cool_down":
			err = durationArg(d, &b.CoolDown)
		default:
			return d.Errf("breaker: unknown option %q", key)
		}
		return err
	})
}

// provisionEngines loads the engine modules and puts each behind its own
// breaker, shared by every route that asks it.
func (a *App) provisionEngines(ctx caddy.Context) error {
	a.engineByName = map[string]*engine.Guarded{}
	a.postAuth = map[string]bool{}
	var mods []any
	if len(a.EnginesRaw) > 0 {
		loaded, err := ctx.LoadModule(a, "EnginesRaw")
		if err != nil {
			return fmt.Errorf("loading engines: %v", err)
		}
		mods = loaded.([]any)
	}
	// The embedded sandbox is always there for routes that name it, so a
	// demo or a test config needs no global engine block; it calls nothing
	// and answers only for its documented test users and IPs.
	if !hasEngine(mods, "sandbox") {
		sb := &sandboxmod.Sandbox{}
		if err := sb.Provision(ctx); err != nil {
			return err
		}
		mods = append(mods, sb)
	}
	bc := engine.BreakerConfig{}
	if a.Breaker != nil {
		bc.Threshold, bc.CoolDown = a.Breaker.Failures, time.Duration(a.Breaker.CoolDown)
	}
	for _, m := range mods {
		em := m.(engines.Module)
		name := em.EngineName()
		if _, dup := a.engineByName[name]; dup {
			return fmt.Errorf("two engines are named %q: give one another name", name)
		}
		cfg := bc
		cfg.OnStateChange = a.metrics.breakerChange(name)
		a.engineByName[name] = engine.WithBreaker(em.Engine(), engine.NewBreaker(cfg))
		if pa, ok := m.(engines.PostAuthOnly); ok && pa.PostAuthOnly() {
			a.postAuth[name] = true
		}
	}
	return nil
}

// startEngines shows this config's breakers (all closed) in the breaker
// gauge, which the process's configs share.
func (a *App) startEngines() {
	names := make([]string, 0, len(a.engineByName))
	for n := range a.engineByName {
		names = append(names, n)
	}
	a.metrics.resetBreakers(names)
}

func (a *App) stopEngines() {}

func (h *Handler) unmarshalEngineDirective(d *caddyfile.Dispenser, key string) (bool, error) {
	o := &h.EngineOptions
	var err error
	switch key {
	case "engines":
		o.Engines = d.RemainingArgs()
		if len(o.Engines) == 0 {
			return true, d.ArgErr()
		}
	case "evaluate":
		if err = oneArg(d, &o.Evaluate); err == nil {
			err = oneOf(d, o.Evaluate, EvaluateBefore, EvaluateAfter)
		}
	case "deadline":
		err = durationArg(d, &o.Deadline)
	case "on_engine_failure":
		if err = oneArg(d, &o.OnEngineFailure); err == nil {
			err = oneOf(d, o.OnEngineFailure, "allow", "challenge", "deny")
		}
	case "mode":
		if err = oneArg(d, &o.Mode); err == nil {
			err = oneOf(d, o.Mode, "enforce", "monitor")
		}
	case "account_id":
		err = oneArg(d, &o.AccountID)
	case "hold_limit":
		o.HoldLimit, err = intArg(d, 1024, 16<<20)
	default:
		return false, nil
	}
	return true, err
}

// provisionEngines resolves the route's engine names and checks the
// evaluation point.
func (h *Handler) provisionEngines() error {
	o := &h.EngineOptions
	if o.Deadline == 0 {
		o.Deadline = caddy.Duration(800 * time.Millisecond)
	}
	if o.OnEngineFailure == "" {
		o.OnEngineFailure = "allow"
	}
	var err error
	if o.onFailure, err = rules.ParseAction(o.OnEngineFailure); err != nil {
		return fmt.Errorf("route %q: on_engine_failure: %v", h.Name, err)
	}
	if o.HoldLimit == 0 {
		o.HoldLimit = 1 << 20
	}
	o.engines = o.engines[:0]
	for _, name := range o.Engines {
		g, ok := h.app.engineByName[name]
		if !ok {
			return fmt.Errorf("route %q: engine %q is not configured in the global login_guard block", h.Name, name)
		}
		if h.app.postAuth[name] && o.Evaluate == "" {
			return fmt.Errorf("route %q asks %s, which wants only logins whose password was right: "+
				"say `evaluate after_upstream` (recommended) or, to ask before the upstream anyway, `evaluate before_upstream`", h.Name, name)
		}
		o.engines = append(o.engines, g)
	}
	if o.Evaluate == "" {
		o.Evaluate = EvaluateBefore
	}
	if o.Evaluate == EvaluateAfter && h.Event != EventLogin {
		return fmt.Errorf("route %q: evaluate after_upstream is only for event login", h.Name)
	}
	return nil
}

// consultEngines asks the route's engines before the upstream. A request
// already denied by a local rule costs the engines nothing.
func (x *exchange) consultEngines() {
	o := &x.h.EngineOptions
	if len(o.engines) == 0 || o.Evaluate != EvaluateBefore || x.verdict.Action == rules.Deny {
		return
	}
	x.askEngines()
}

// askEngines runs the engines under the route's deadline and folds their
// answers into the verdict.
func (x *exchange) askEngines() {
	o := &x.h.EngineOptions
	if o.AccountID != "" {
		if repl, ok := x.ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			x.attempt.AccountID = repl.ReplaceKnown(o.AccountID, "")
		}
	}
	results := engine.Run(x.ctx, o.engines, &x.attempt, time.Duration(o.Deadline))
	x.verdict.Merge(engine.Combine(results, o.onFailure))
	x.engineResults = results
	m := x.h.app.metrics
	for _, r := range results {
		kind := ""
		if r.Failure != nil {
			kind = r.Failure.Kind
		}
		m.engineCall(r.Engine, r.Latency, kind)
	}
}

func (h *Handler) monitorOnly() bool { return h.Mode == "monitor" }

// monitored keeps what the verdict would have done for the log and the
// metrics, and lets the request pass.
func (x *exchange) monitored() {
	if x.verdict.Action == rules.Allow {
		return
	}
	x.monitorAction = x.verdict.Action.String()
	x.verdict.Monitored = append(x.verdict.Monitored, x.verdict.Reasons...)
	x.verdict.Action = rules.Allow
	x.verdict.RetryAfter = 0
}

func hasEngine(mods []any, name string) bool {
	for _, m := range mods {
		if m.(engines.Module).EngineName() == name {
			return true
		}
	}
	return false
}
