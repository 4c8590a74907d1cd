package routecheck

import (
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
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

// stripRoute is what handle_path and uri strip_prefix compile to: an
// unmatched route whose rewrite strips prefix from the path the routes
// after it see.
func stripRoute(prefix string) caddyhttp.Route {
	return route(&rewrite.Rewrite{StripPathPrefix: prefix})
}

// TestStepUpServedUnderAStrippedPrefix: a step-up route under a
// handle_path (or a uri strip_prefix) is matched against the path as
// stripped there, as Caddy matches it: handle_path /portal/* { handle
// /verify* { login_guard { event step_up } } } serves /portal/verify,
// not /verify, and the start's check finds the login route's step_up
// /portal/verify served.
func TestStepUpServedUnderAStrippedPrefix(t *testing.T) {
	handlePath := caddyhttp.RouteList{hostRoute("auth.example.com",
		pathRoute("/portal/*", sub(stripRoute("/portal"), pathRoute("/verify*", sub(route(stepUpRoute{}))))))}
	// A strip in the handlers of a matched route, before its subroute.
	inRoute := caddyhttp.RouteList{pathRoute("/sso/*", &rewrite.Rewrite{StripPathPrefix: "/sso"}, sub(pathRoute("/verify*", stepUpRoute{})))}
	// A rewrite that does more than strip a prefix is not followed.
	other := caddyhttp.RouteList{pathRoute("/portal/*", sub(route(&rewrite.Rewrite{StripPathPrefix: "/portal", URI: "/x{path}"}), pathRoute("/verify*", stepUpRoute{})))}
	for _, c := range []struct {
		name       string
		routes     caddyhttp.RouteList
		host, path string
		want       bool
	}{
		{"the stripped path", handlePath, "", "/portal/verify/enrol", true},
		{"on the site's host", handlePath, "auth.example.com", "/portal/verify/enrol", true},
		{"on another host", handlePath, "evil.example", "/portal/verify/enrol", false},
		{"the path without its prefix", handlePath, "", "/verify/enrol", false},
		{"another prefix", handlePath, "", "/other/verify/enrol", false},
		{"the prefix alone", handlePath, "", "/portal/enrol", false},
		{"a strip before the subroute", inRoute, "", "/sso/verify/enrol", true},
		{"a strip before the subroute, unstripped", inRoute, "", "/verify/enrol", false},
		{"another rewrite", other, "", "/portal/verify/enrol", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := StepUpServedAt(map[string]*caddyhttp.Server{"srv0": {Routes: c.routes}}, c.host, c.path, false); got != c.want {
				t.Fatalf("StepUpServedAt(%q, %q) = %v, want %v", c.host, c.path, got, c.want)
			}
		})
	}
	login := func(path string) caddyhttp.Route { return route(loginWithStepUp{guard("login"), path}) }
	for path, want := range map[string]int{"/portal/verify": 0, "/verify": 1} {
		routes := append(caddyhttp.RouteList{login(path)}, handlePath...)
		if got := UnservedStepUps(map[string]*caddyhttp.Server{"srv0": {Routes: routes}}); len(got) != want {
			t.Errorf("step_up %s: findings %v, want %d", path, got, want)
		}
	}
}
