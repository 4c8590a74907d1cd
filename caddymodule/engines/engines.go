// Package engines defines how decision engines plug into the login_guard
// app: as guest modules in the `login_guard.engines` namespace, the way
// reverse_proxy takes transports. Each engine's Caddy module lives in its
// own folder below this one and wraps a Caddy-free client from clients/.
package engines

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/rules"
)

// Namespace is the module namespace of engines.
const Namespace = "login_guard.engines"

// Module is an engine guest module. Engine is called after Provision.
type Module interface {
	caddy.Module
	// EngineName is the name routes use in `engines <name...>`.
	EngineName() string
	Engine() rules.Engine
}

// PostAuthOnly is implemented by engines that must only see logins whose
// password was right (Forter asks this). A route that asks such an engine
// must say explicitly when it evaluates.
type PostAuthOnly interface {
	PostAuthOnly() bool
}

// Names are the engine names a Caddyfile's global block configures, so
// that a second block with a name already taken (two `http scoring`, two
// unnamed `forter`) is refused at its line. The zero value is ready.
type Names struct{ seen map[string]bool }

// Add records the engine block key's module; its name is the module's
// own, or, when it gives none, the block's key (forter, sandbox).
func (n *Names) Add(key string, mod any) error {
	name := key
	if m, ok := mod.(Module); ok && m.EngineName() != "" {
		name = m.EngineName()
	}
	if n.seen[name] {
		return fmt.Errorf("two engines are named %q: give one another name", name)
	}
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	n.seen[name] = true
	return nil
}
