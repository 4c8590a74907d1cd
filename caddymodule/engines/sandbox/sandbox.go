// Package sandbox is the `login_guard.engines.sandbox` module: the embedded,
// deterministic engine of clients/sandbox, so the demo and tests need no
// outside service.
package sandbox

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/engines"
	client "github.com/login-guard/login_guard/clients/sandbox"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

func init() {
	caddy.RegisterModule(Sandbox{})
}

// Sandbox configures the sandbox engine.
type Sandbox struct {
	// Name defaults to "sandbox".
	Name string `json:"name,omitempty"`
	// SlowDelay is how long the slow test user waits (default 10s, at most
	// 1m; a route's deadline normally ends it first).
	SlowDelay caddy.Duration `json:"slow_delay,omitempty"`

	engine *client.Engine
}

// CaddyModule returns the Caddy module information.
func (Sandbox) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: engines.Namespace + ".sandbox", New: func() caddy.Module { return new(Sandbox) }}
}

// Provision builds the engine.
func (s *Sandbox) Provision(caddy.Context) error {
	if s.Name == "" {
		s.Name = "sandbox"
	}
	// A JSON config is held to the Caddyfile's rule (a negative value
	// would silently take the default, a long one hold a test for minutes).
	if err := caddyopt.CheckDuration("slow_delay", s.SlowDelay, client.MaxSlowDelay); err != nil {
		return fmt.Errorf("sandbox %q: %w", s.Name, err)
	}
	s.engine = client.New(client.Config{Name: s.Name, SlowDelay: time.Duration(s.SlowDelay)})
	return nil
}

// EngineName implements engines.Module.
func (s *Sandbox) EngineName() string { return s.Name }

// Engine implements engines.Module.
func (s *Sandbox) Engine() rules.Engine { return s.engine }

// UnmarshalCaddyfile reads
//
//	sandbox [<name>] {
//		slow_delay <duration>
//	}
func (s *Sandbox) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		if s.Name = d.Val(); s.Name == "" {
			return d.Err("sandbox: the engine name must not be empty (leave it out for \"sandbox\")")
		}
	}
	// EachOption refuses a second argument, and an option given twice.
	return caddyopt.EachOption(d, "sandbox", nil, func(key string) error {
		if key != "slow_delay" {
			return d.Errf("sandbox: unknown option %q", key)
		}
		return caddyopt.DurationArg(d, &s.SlowDelay, client.MaxSlowDelay)
	})
}

// Interface guards.
var (
	_ engines.Module        = (*Sandbox)(nil)
	_ caddy.Provisioner     = (*Sandbox)(nil)
	_ caddyfile.Unmarshaler = (*Sandbox)(nil)
)
