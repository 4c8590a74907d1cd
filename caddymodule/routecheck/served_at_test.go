package routecheck

import (
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// hostRoute is a site block: a host matcher over its routes.
func hostRoute(host string, routes ...caddyhttp.Route) caddyhttp.Route {
	r := route(sub(routes...))
	r.MatcherSets = caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchHost{host}}}
	return r
}

// TestStepUpServedAt: a path is served when a step-up route's path
// matchers select it; on a host only when a host matcher above the route
// names it (or any host is taken, as for a loopback one).
func TestStepUpServedAt(t *testing.T) {
	site := caddyhttp.RouteList{hostRoute("auth.example.com", pathRoute("/verify*", sub(route(stepUpRoute{}))))}
	catchAll := caddyhttp.RouteList{pathRoute("/verify*", sub(route(stepUpRoute{})))}
	for _, c := range []struct {
		name       string
		routes     caddyhttp.RouteList
		host, path string
		anyHost    bool
		want       bool
	}{
		{"path on a site", site, "", "/verify/enrol", false, true},
		{"another path", site, "", "/check/enrol", false, false},
		{"the site's host", site, "auth.example.com", "/verify/enrol", false, true},
		{"the site's host with a port", site, "auth.example.com:8443", "/verify/enrol", false, true},
		{"another host", site, "evil.example", "/verify/enrol", false, false},
		{"another host, any host taken", site, "evil.example", "/verify/enrol", true, false},
		{"path on a catch-all site", catchAll, "", "/verify/enrol", false, true},
		{"a host on a catch-all site", catchAll, "evil.example", "/verify/enrol", false, false},
		{"any host on a catch-all site", catchAll, "localhost:8080", "/verify/enrol", true, true},
		{"no step-up route", caddyhttp.RouteList{pathRoute("/verify*", passOn{})}, "", "/verify/enrol", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := StepUpServedAt(map[string]*caddyhttp.Server{"srv0": {Routes: c.routes}}, c.host, c.path, c.anyHost); got != c.want {
				t.Fatalf("StepUpServedAt(%q, %q, %v) = %v, want %v", c.host, c.path, c.anyHost, got, c.want)
			}
		})
	}
	if StepUpServedAt(nil, "", "/verify/enrol", true) {
		t.Fatal("served without servers")
	}
}
