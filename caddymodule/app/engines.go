package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/engines"
	"github.com/login-guard/login_guard/clients/engine"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

// BreakerConfig tunes the per-engine circuit breakers.
type BreakerConfig struct {
	// Failures is the number of consecutive engine failures (timeouts,
	// refusals, 5xx, malformed answers; never 4xx) that opens it
	// (default 5).
	Failures int `json:"failures,omitempty"`
	// CoolDown is how long it stays open before a probe (default 30s, at
	// most 1h).
	CoolDown caddy.Duration `json:"cool_down,omitempty"`
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
	at := caddyopt.At(d)
	mod, err := caddyfile.UnmarshalModule(d, id)
	if err != nil {
		return true, err
	}
	if err := a.engineNames.Add(key, mod); err != nil {
		return true, at.Err(err)
	}
	a.EnginesRaw = append(a.EnginesRaw, caddyconfig.JSONModuleObject(mod, "engine", key, nil))
	return true, nil
}

func (b *BreakerConfig) unmarshal(d *caddyfile.Dispenser) error {
	return caddyopt.EachOption(d, "breaker", nil, func(key string) error {
		var err error
		switch key {
		case "failures":
			b.Failures, err = caddyopt.IntArg(d, 1, engine.MaxThreshold)
		case "cool_down":
			err = caddyopt.DurationArg(d, &b.CoolDown, engine.MaxCoolDown)
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
		// Loaded by its module id: the app imports no engine guest (the
		// engines/standard umbrella import registers them).
		sb, err := ctx.LoadModuleByID(engines.Namespace+".sandbox", json.RawMessage(`{}`))
		if err != nil {
			return fmt.Errorf("loading the embedded sandbox engine: %v", err)
		}
		mods = append(mods, sb)
	}
	a.breakers = a.metrics.NewBreakers()
	bc := engine.BreakerConfig{}
	if a.Breaker != nil {
		bc.Threshold, bc.CoolDown = a.Breaker.Failures, time.Duration(a.Breaker.CoolDown)
	}
	if err := bc.Validate(); err != nil {
		return fmt.Errorf("breaker: %w", err)
	}
	for _, m := range mods {
		em := m.(engines.Module)
		name := em.EngineName()
		if _, dup := a.engineByName[name]; dup {
			return fmt.Errorf("two engines are named %q: give one another name", name)
		}
		cfg := bc
		cfg.OnStateChange = a.breakers.Hook(name)
		b := engine.NewBreaker(cfg)
		a.breakers.Add(name, b)
		a.engineByName[name] = engine.WithBreaker(em.Engine(), b)
		if pa, ok := m.(engines.PostAuthOnly); ok && pa.PostAuthOnly() {
			a.postAuth[name] = true
		}
	}
	return nil
}

func hasEngine(mods []any, name string) bool {
	for _, m := range mods {
		if m.(engines.Module).EngineName() == name {
			return true
		}
	}
	return false
}

// Engine returns the engine a route names, behind its breaker, and
// whether it wants only logins whose password was right.
func (a *App) Engine(name string) (g *engine.Guarded, postAuthOnly, ok bool) {
	g, ok = a.engineByName[name]
	return g, a.postAuth[name], ok
}

// engineDrain bounds how long Stop waits for engine calls that outlived
// their request (each was cancelled at its route's deadline, so a healthy
// engine returns at once).
const engineDrain = 5 * time.Second

// RunEngines asks engines about an attempt under one deadline. The calls
// are tracked, so that Stop can wait for those still unwinding.
func (a *App) RunEngines(ctx context.Context, engines []rules.Engine, at *rules.Attempt, deadline time.Duration) []engine.Result {
	return a.rt.engines.Run(ctx, engines, at, deadline)
}

// stopEngines gives the breaker gauge back to the newest config still
// running, and waits, within engineDrain, for engine calls still running,
// and says so when one outlives the config (an engine that ignores its
// context).
func (a *App) stopEngines() {
	a.breakers.Hide()
	if a.rt == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineDrain)
	defer cancel()
	if err := a.rt.engines.Wait(ctx); err != nil {
		a.logger.Warn("engine calls still running after the config stopped", zap.Int("calls", a.rt.engines.Active()))
	}
}
