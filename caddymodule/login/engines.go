package login

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
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
	// Deadline bounds all engines together (default 800ms, at most 30s).
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

// heldResponse is an upstream response withheld after the upstream.
type heldResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// unmarshal reads the route's engine subdirectives:
//
//	engines           <name...>
//	evaluate          before_upstream|after_upstream
//	deadline          <duration>
//	on_engine_failure allow|challenge|deny
//	mode              enforce|monitor
//	account_id        <placeholder>
//	hold_limit        <bytes>
func (o *EngineOptions) unmarshal(d *caddyfile.Dispenser, key string) (bool, error) {
	var err error
	switch key {
	case "engines":
		o.Engines = d.RemainingArgs()
		if len(o.Engines) == 0 {
			return true, d.ArgErr()
		}
	case "evaluate":
		err = caddyopt.OneOfArg(d, &o.Evaluate, EvaluateBefore, EvaluateAfter)
	case "deadline":
		err = caddyopt.DurationArg(d, &o.Deadline, engine.MaxDeadline)
	case "on_engine_failure":
		err = caddyopt.OneOfArg(d, &o.OnEngineFailure, "allow", "challenge", "deny")
	case "mode":
		err = caddyopt.OneOfArg(d, &o.Mode, "enforce", "monitor")
	case "account_id":
		err = caddyopt.NonEmptyArg(d, &o.AccountID)
	case "hold_limit":
		o.HoldLimit, err = caddyopt.IntArg(d, minHoldLimit, maxHoldLimit)
	default:
		return false, nil
	}
	return true, err
}

// provision resolves the engine names against the app's engines; route
// names the route in errors. The defaults are read where they apply, so
// the options stay as given for validate's checks. It holds nothing the
// route must give back: the engines and their breakers are the app's.
func (o *EngineOptions) provision(a *app.App, route string) error {
	var err error
	if o.onFailure, err = rules.ParseAction(cmp.Or(o.OnEngineFailure, "allow")); err != nil {
		return fmt.Errorf("route %q: on_engine_failure: %v", route, err)
	}
	o.engines = o.engines[:0]
	for _, name := range o.Engines {
		g, postAuthOnly, ok := a.Engine(name)
		if !ok {
			return fmt.Errorf("route %q: engine %q is not configured in the global login_guard block", route, name)
		}
		if postAuthOnly && o.Evaluate == "" {
			return fmt.Errorf("route %q asks %s, which wants only logins whose password was right: "+
				"say `evaluate after_upstream` (recommended) or, to ask before the upstream anyway, `evaluate before_upstream`", route, name)
		}
		o.engines = append(o.engines, g)
	}
	return nil
}

// Bounds of hold_limit, and the defaults of hold_limit and deadline.
const (
	minHoldLimit     = 1024
	maxHoldLimit     = 16 << 20
	defaultHoldLimit = 1 << 20
	defaultDeadline  = 800 * time.Millisecond
)

// validate checks the options' values (a JSON config skips the
// Caddyfile's checks) and refuses what does not fit a route with this
// event. It needs no app, so the Caddyfile parser runs it too.
func (o *EngineOptions) validate(event string) error {
	for i, name := range o.Engines {
		if slices.Contains(o.Engines[:i], name) {
			return refuseOption("engines", "engine %q is named twice: it would be asked twice per login", name)
		}
	}
	switch o.Evaluate {
	case "", EvaluateBefore:
	case EvaluateAfter:
		if event != EventLogin {
			return refuseOption("evaluate", "evaluate after_upstream is only for event login")
		}
	default:
		return refuseOption("evaluate", "evaluate must be before_upstream or after_upstream, not %q", o.Evaluate)
	}
	switch o.Mode {
	case "", "enforce", "monitor":
	default:
		return refuseOption("mode", "mode must be enforce or monitor, not %q", o.Mode)
	}
	if err := caddyopt.CheckDuration("deadline", o.Deadline, engine.MaxDeadline); err != nil {
		return refuseOption("deadline", "%v", err)
	}
	if o.HoldLimit != 0 && (o.HoldLimit < minHoldLimit || o.HoldLimit > maxHoldLimit) {
		return refuseOption("hold_limit", "hold_limit must be from %d to %d bytes, not %d", minHoldLimit, maxHoldLimit, o.HoldLimit)
	}
	// What tunes the engines does nothing on a route that asks none, and
	// hold_limit bounds only the answer held while they decide after the
	// upstream.
	for _, c := range []struct {
		option string
		given  bool
	}{{"evaluate", o.Evaluate != ""}, {"deadline", o.Deadline != 0}, {"hold_limit", o.HoldLimit != 0}} {
		if c.given && len(o.Engines) == 0 {
			return refuseOption(c.option, "%s needs engines", c.option)
		}
	}
	if o.HoldLimit != 0 && o.Evaluate != EvaluateAfter {
		return refuseOption("hold_limit", "hold_limit needs evaluate after_upstream: it bounds the upstream's answer held while the engines decide")
	}
	return nil
}

// consultEngines asks the route's engines before the upstream. A request
// already denied by a local rule costs the engines nothing. A route with
// no engines still reads its account_id, which a step-up state keeps
// (smileid user_id account_id compares the selfie under it).
func (x *exchange) consultEngines() {
	o := &x.h.EngineOptions
	if len(o.engines) == 0 {
		x.readAccountID()
		return
	}
	if o.Evaluate == EvaluateAfter || x.Verdict.Action == rules.Deny {
		return
	}
	x.askEngines()
}

// readAccountID reads the route's account_id into the attempt. A
// placeholder unset or empty is no account id at all: left as its own text
// it would be one account id for every user (one enrolled face for every
// selfie).
func (x *exchange) readAccountID() {
	if id := x.h.EngineOptions.AccountID; id != "" {
		if repl, ok := x.Ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			if v, err := repl.ReplaceOrErr(id, true, true); err == nil {
				x.Attempt.AccountID = v
			}
		}
	}
}

// askEngines runs the engines under the route's deadline and folds their
// answers into the verdict.
func (x *exchange) askEngines() {
	o := &x.h.EngineOptions
	x.readAccountID()
	// The engines get a copy of the attempt, header included: an engine
	// that outlives its deadline still runs in its own goroutine, while
	// the request goes on writing the attempt (its outcome) and the header
	// (the upstream headers).
	a := x.Attempt
	a.Header = x.Attempt.Header.Clone()
	results := x.h.app.RunEngines(x.Ctx, o.engines, &a, cmp.Or(time.Duration(o.Deadline), defaultDeadline))
	x.Verdict.Merge(engine.Combine(results, o.onFailure))
	x.EngineResults = results
	m := x.h.app.Metrics()
	for _, r := range results {
		kind := ""
		if r.Failure != nil {
			kind = r.Failure.Kind
		}
		m.EngineCall(r.Engine, r.Latency, kind)
	}
}

func (h *Handler) monitorOnly() bool { return h.EngineOptions.Mode == "monitor" }

// monitored keeps what the verdict would have done for the log and the
// metrics, and lets the request pass.
func (x *exchange) monitored() {
	if x.Verdict.Action == rules.Allow {
		return
	}
	x.MonitorAction = x.Verdict.Action.String()
	x.Verdict.Monitored = append(x.Verdict.Monitored, x.Verdict.Reasons...)
	x.Verdict.Action = rules.Allow
	x.Verdict.RetryAfter = 0
}
