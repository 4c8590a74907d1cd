package app

import (
	"slices"
	"sync"

	"github.com/login-guard/login_guard/rules"
)

// RouteRegistry is how the admin API finds the live policies of a config:
// its handlers register in Provision and unregister in Cleanup. A route
// name may be registered more than once (one route under two site
// addresses); they share the store and their counter names, so the admin
// view merges them.
type RouteRegistry struct {
	mu sync.RWMutex
	m  map[string][]*RuleRoute
}

// RuleRoute is one provisioned handler's policy.
type RuleRoute struct {
	Name   string
	Policy *rules.Policy
	// Rules are the route's rules in their canonical form.
	Rules []string
}

func newRouteRegistry() *RouteRegistry {
	return &RouteRegistry{m: map[string][]*RuleRoute{}}
}

// Routes is the app's registry of routes with local rules.
func (a *App) Routes() *RouteRegistry { return a.routes }

// Add registers a route's policy; give the result to Remove in Cleanup.
func (g *RouteRegistry) Add(name string, p *rules.Policy, rs []string) *RuleRoute {
	e := &RuleRoute{Name: name, Policy: p, Rules: rs}
	g.mu.Lock()
	g.m[name] = append(g.m[name], e)
	g.mu.Unlock()
	return e
}

// Remove unregisters what Add registered.
func (g *RouteRegistry) Remove(e *RuleRoute) {
	g.mu.Lock()
	defer g.mu.Unlock()
	list := slices.DeleteFunc(g.m[e.Name], func(x *RuleRoute) bool { return x == e })
	if len(list) == 0 {
		delete(g.m, e.Name)
		return
	}
	g.m[e.Name] = list
}

// Get returns the registrations of one route, newest last.
func (g *RouteRegistry) Get(name string) []*RuleRoute {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(g.m[name])
}

// Names lists the registered routes, sorted.
func (g *RouteRegistry) Names() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.m))
	for n := range g.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
