package app

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/login-guard/login_guard/caddymodule/engines"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/tokens"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("login_guard", parseGlobalOption)
}

// parseGlobalOption sets up the app from the global options block:
//
//	login_guard {
//		smartid {
//			endpoint    <url>
//			license     <key>
//			channel     <id>
//			environment production|dev
//			timeout     <duration>
//			queue_size  <n>
//			workers     <n>
//			retries     <n>
//			drain       <duration>
//			linger      <duration>
//		}
//		session {
//			ttl          <duration>
//			key_rotation <duration>
//			key_grace    <duration>
//			max_revocations <n>
//		}
//		start_wait <duration>
//		pages { ... }
//		loginid { ... }
//		rules_store { max_keys <n> }
//		breaker { failures <n>; cool_down <duration> }
//		passkeys { ... }
//		smileid { ... }
//		<engine> [<name>] { ... }      (forter, http, sandbox: login_guard.engines.*)
//	}
//
// docs/configuration.md lists every option.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	d.Next()
	if existing != nil {
		// On the second block's line (before d.Next there is no token).
		return nil, d.Err("login_guard global option given twice")
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		key := d.Val()
		// Every block is given once but an engine's: `http <name>` and
		// the like may be configured several times, their names
		// differing, which Provision checks.
		if _, err := caddy.GetModule(engines.Namespace + "." + key); seen[key] && err != nil {
			return nil, d.Errf("%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "smartid":
			app.SmartID = new(SmartIDConfig)
			err = app.SmartID.unmarshal(d)
		case "session":
			app.Session = new(SessionConfig)
			err = app.Session.unmarshal(d)
		case "loginid":
			app.LoginID = new(LoginIDConfig)
			err = app.LoginID.unmarshal(d)
		case "start_wait":
			app.StartWait = new(caddy.Duration)
			err = caddyopt.BoundedDurationArg(d, app.StartWait, 0, maxStartWait)
		case "pages":
			err = app.unmarshalPages(d)
		default:
			ok, err := app.unmarshalEngineOption(d, key)
			if !ok && err == nil {
				ok, err = app.unmarshalStepUpOption(d, key)
			}
			if !ok && err == nil {
				ok, err = app.unmarshalRulesOption(d, key)
			}
			if !ok && err == nil {
				ok, err = app.unmarshalStoreOption(d, key)
			}
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, d.Errf("unknown login_guard option %q", key)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return httpcaddyfile.App{Name: "login_guard", Value: caddyconfig.JSON(app, nil)}, nil
}

func (s *SessionConfig) unmarshal(d *caddyfile.Dispenser) error {
	var grace caddyopt.Place
	err := caddyopt.EachOption(d, "session", nil, func(key string) error {
		var err error
		switch key {
		case "ttl":
			err = caddyopt.BoundedDurationArg(d, &s.TTL, tokens.MinLifetime, tokens.MaxLifetime)
		case "key_rotation":
			err = caddyopt.BoundedDurationArg(d, &s.KeyRotation, tokens.MinLifetime, tokens.MaxLifetime)
		case "key_grace":
			grace = caddyopt.At(d)
			err = caddyopt.BoundedDurationArg(d, &s.KeyGrace, tokens.MinLifetime, tokens.MaxGrace)
		case "max_revocations":
			s.MaxRevocations, err = caddyopt.IntArg(d, minRevocations, maxRevocations)
		default:
			return d.Errf("session: unknown option %q", key)
		}
		return err
	})
	if err == nil && s.KeyGrace != 0 {
		// A key_grace below the ttl (given or default), at its line.
		if err = s.lifetimes().WithDefaults().Check(); err != nil {
			err = grace.Err(fmt.Errorf("session: %w", err))
		}
	}
	return err
}

func (s *SessionConfig) lifetimes() tokens.Lifetimes {
	return tokens.Lifetimes{TTL: time.Duration(s.TTL), Rotation: time.Duration(s.KeyRotation), Grace: time.Duration(s.KeyGrace)}
}
