package caddymodule

import (
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/rules"
)

// ruleRoutes is how the admin API finds the live policies: handlers
// register in Provision and unregister in Cleanup. During a reload the
// old and the new config's handlers are both registered for a moment;
// they share the store and their counter names, so the admin view merges
// them.
var ruleRoutes = &routeRegistry{m: map[string][]*ruleRoute{}}

// ruleRoute is one provisioned handler's policy.
type ruleRoute struct {
	name   string
	policy *rules.Policy
	rules  []string
}

type routeRegistry struct {
	mu sync.RWMutex
	m  map[string][]*ruleRoute
}

func (g *routeRegistry) add(name string, p *rules.Policy, rs []string) *ruleRoute {
	e := &ruleRoute{name: name, policy: p, rules: rs}
	g.mu.Lock()
	g.m[name] = append(g.m[name], e)
	g.mu.Unlock()
	return e
}

func (g *routeRegistry) remove(e *ruleRoute) {
	g.mu.Lock()
	defer g.mu.Unlock()
	list := slices.DeleteFunc(g.m[e.name], func(x *ruleRoute) bool { return x == e })
	if len(list) == 0 {
		delete(g.m, e.name)
		return
	}
	g.m[e.name] = list
}

// get returns the registrations of one route, newest last.
func (g *routeRegistry) get(name string) []*ruleRoute {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(g.m[name])
}

// names lists the registered routes, sorted.
func (g *routeRegistry) names() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.m))
	for n := range g.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Cleanup unregisters the route's policy and releases its hold on the
// shared counter store. Caddy calls it when the config is unloaded, and
// also when Provision failed half-way, so every field may be unset.
func (h *Handler) Cleanup() error {
	rt := h.rulesRT
	if rt == nil {
		return nil
	}
	h.rulesRT = nil
	if rt.reg != nil {
		ruleRoutes.remove(rt.reg)
	}
	if rt.storeKey != "" {
		releaseRulesStore(rt.storeKey)
	}
	return nil
}

var _ caddy.CleanerUpper = (*Handler)(nil)
