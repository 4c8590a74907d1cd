package routecheck

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
)

// guard stands for a guard route handler.
type guard string

func (g guard) GuardRouteName() string { return string(g) }
func (guard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

// passOn is a handler that always calls the next one (vars, header...).
type passOn struct{}

func (passOn) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

func route(hs ...caddyhttp.MiddlewareHandler) caddyhttp.Route {
	return caddyhttp.Route{Handlers: hs}
}

func matched(r caddyhttp.Route) caddyhttp.Route {
	r.MatcherSets = caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchPath{"/api/*"}}}
	return r
}

func grouped(g string, r caddyhttp.Route) caddyhttp.Route {
	r.Group = g
	return r
}

func sub(routes ...caddyhttp.Route) *caddyhttp.Subroute {
	return &caddyhttp.Subroute{Routes: routes}
}

func TestUnreachable(t *testing.T) {
	proxy := &reverseproxy.Handler{}
	respond := &caddyhttp.StaticResponse{}
	cases := []struct {
		name   string
		routes caddyhttp.RouteList
		want   string // the finding's AnsweredBy, "" for none
	}{
		{"guard first", caddyhttp.RouteList{route(guard("login")), route(proxy)}, ""},
		{"proxy without a matcher first", caddyhttp.RouteList{route(proxy), route(guard("login"))}, "reverse_proxy answers first (route 0)"},
		{"proxy with a matcher first", caddyhttp.RouteList{matched(route(proxy)), route(guard("login"))}, ""},
		{"one route, guard then proxy", caddyhttp.RouteList{route(guard("login"), proxy)}, ""},
		{"one route, proxy then guard", caddyhttp.RouteList{route(proxy, guard("login"))}, "reverse_proxy answers first (route 0)"},
		{"one matched route, proxy then guard", caddyhttp.RouteList{matched(route(proxy, guard("login")))}, "reverse_proxy answers first (route 0)"},
		{"handlers that pass on", caddyhttp.RouteList{route(passOn{}), route(passOn{}, guard("login")), route(proxy)}, ""},
		{"a catch-all handle block first", caddyhttp.RouteList{
			matched(route(sub(route(proxy)))), route(sub(route(respond))), route(guard("login")),
		}, "a static response (respond or redir) answers first (route 1)"},
		{"abort", caddyhttp.RouteList{route(&caddyhttp.StaticResponse{Abort: true}), route(guard("login"))}, "abort answers first (route 0)"},
		{"proxy with handle_response (forward_auth)", caddyhttp.RouteList{
			route(&reverseproxy.Handler{HandleResponse: []caddyhttp.ResponseHandler{{Routes: caddyhttp.RouteList{route(passOn{})}}}}), route(guard("login")),
		}, ""},
		{"error", caddyhttp.RouteList{route(&caddyhttp.StaticError{}), route(guard("login"))}, "error answers first (route 0)"},
		{"file_server", caddyhttp.RouteList{route(&fileserver.FileServer{}), route(guard("login"))}, "file_server answers first (route 0)"},
		{"file_server pass_thru", caddyhttp.RouteList{route(&fileserver.FileServer{PassThru: true}), route(guard("login"))}, ""},
		{"subroute whose routes all have matchers", caddyhttp.RouteList{route(sub(matched(route(proxy)))), route(guard("login"))}, ""},
		{"guard nested after the answer", caddyhttp.RouteList{route(respond), route(sub(route(sub(route(guard("login"))))))},
			"a static response (respond or redir) answers first (route 0)"},
		{"guard nested after an answer in its subroute", caddyhttp.RouteList{route(sub(route(proxy), route(guard("login"))))},
			"reverse_proxy answers first (route 0)"},
		{"terminal route without a matcher", caddyhttp.RouteList{{Handlers: []caddyhttp.MiddlewareHandler{passOn{}}, Terminal: true}, route(guard("login"))},
			"route 0, without a matcher, is terminal"},
		{"group taken by a route without a matcher", caddyhttp.RouteList{grouped("g", route(passOn{})), matched(grouped("g", route(guard("login"))))},
			`route 0, without a matcher, takes its group "g" first`},
		{"group of a matched route", caddyhttp.RouteList{matched(grouped("g", route(proxy))), grouped("g", route(guard("login")))}, ""},
		{"another group", caddyhttp.RouteList{grouped("g", route(passOn{})), grouped("h", route(guard("login")))}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Unreachable(map[string]*caddyhttp.Server{"srv0": {Routes: c.routes}})
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("found %v, want nothing", got)
			case c.want != "" && (len(got) != 1 || got[0].Reason != c.want || !got[0].Certain || got[0].Route != "login" || got[0].Server != "srv0"):
				t.Fatalf("found %v, want login answered by %q", got, c.want)
			}
		})
	}
}

// TestUnreachableEveryServerInOrder: each server is walked, the findings
// in server name order, and a finding reads as a sentence naming both.
func TestUnreachableEveryServerInOrder(t *testing.T) {
	blocked := caddyhttp.RouteList{route(&reverseproxy.Handler{}), route(guard("r"))}
	got := Unreachable(map[string]*caddyhttp.Server{
		"b": {Routes: blocked}, "a": {Routes: blocked}, "c": {Routes: caddyhttp.RouteList{route(guard("ok"))}}, "nil": nil,
	})
	if len(got) != 2 || got[0].Server != "a" || got[1].Server != "b" {
		t.Fatalf("findings %v, want servers a and b", got)
	}
	if s := got[0].String(); !strings.Contains(s, `server a: login_guard route "r" never runs: reverse_proxy answers first`) {
		t.Fatalf("finding reads %q", s)
	}
}

// TestFrontController: a guard after a try_files whose last candidate is
// a fixed file sees every request rewritten to it; one before it, or
// after a try_files ending in a placeholder or a status, does not.
func TestFrontController(t *testing.T) {
	tryFiles := func(files ...string) caddyhttp.Route {
		return caddyhttp.Route{
			MatcherSets: caddyhttp.MatcherSets{caddyhttp.MatcherSet{&fileserver.MatchFile{TryFiles: files}}},
			Handlers:    []caddyhttp.MiddlewareHandler{&rewrite.Rewrite{URI: "{http.matchers.file.relative}"}},
		}
	}
	proxy := route(&reverseproxy.Handler{})
	cases := []struct {
		name   string
		routes caddyhttp.RouteList
		want   string
	}{
		{"guard after", caddyhttp.RouteList{tryFiles("{path}", "/index.php?{query}"), route(guard("login")), proxy},
			"try_files (route 0) rewrites every request to /index.php once that file exists"},
		{"guard nested after", caddyhttp.RouteList{tryFiles("{path}", "/index.html"), route(sub(route(guard("login")))), proxy},
			"try_files (route 0) rewrites every request to /index.html once that file exists"},
		{"guard before", caddyhttp.RouteList{route(guard("login")), tryFiles("{path}", "/index.php?{query}"), proxy}, ""},
		{"placeholder last", caddyhttp.RouteList{tryFiles("{path}", "{path}/index.html"), route(guard("login")), proxy}, ""},
		{"status last", caddyhttp.RouteList{tryFiles("{path}", "=404"), route(guard("login")), proxy}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Unreachable(map[string]*caddyhttp.Server{"srv0": {Routes: c.routes}})
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("found %v, want nothing", got)
			case c.want != "" && (len(got) != 1 || got[0].Reason != c.want || got[0].Certain):
				t.Fatalf("found %v, want a likely finding %q", got, c.want)
			}
		})
	}
}

// TestInvoke: invoke runs the server's named route; one that proxies
// answers every request, one with a matcher may not, and a named route
// that invokes itself ends the search rather than the check.
func TestInvoke(t *testing.T) {
	named := map[string]*caddyhttp.Route{
		"portal":  {Handlers: []caddyhttp.MiddlewareHandler{&reverseproxy.Handler{}}},
		"matched": func() *caddyhttp.Route { r := matched(route(&reverseproxy.Handler{})); return &r }(),
		"loop":    {Handlers: []caddyhttp.MiddlewareHandler{&caddyhttp.Invoke{Name: "loop"}}},
	}
	cases := []struct{ name, invoke, want string }{
		{"proxying named route", "portal", "reverse_proxy (in the named route portal) answers first (route 0)"},
		{"named route with a matcher", "matched", ""},
		{"unknown named route", "nowhere", ""},
		{"named route invoking itself", "loop", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := &caddyhttp.Server{NamedRoutes: named, Routes: caddyhttp.RouteList{route(&caddyhttp.Invoke{Name: c.invoke}), route(guard("login"))}}
			got := Unreachable(map[string]*caddyhttp.Server{"srv0": srv})
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("found %v, want nothing", got)
			case c.want != "" && (len(got) != 1 || got[0].Reason != c.want):
				t.Fatalf("found %v, want %q", got, c.want)
			}
		})
	}
}

// loginWithStepUp stands for a login route with a step_up path.
type loginWithStepUp struct {
	guard
	path string
}

func (s loginWithStepUp) StepUpTargetPath() string { return s.path }

// stepUpRoute stands for a step-up route.
type stepUpRoute struct{ passOn }

func (stepUpRoute) ServesStepUp() bool { return true }

func pathRoute(path string, hs ...caddyhttp.MiddlewareHandler) caddyhttp.Route {
	r := route(hs...)
	r.MatcherSets = caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchPath{path}}}
	return r
}

func TestUnservedStepUps(t *testing.T) {
	login := loginWithStepUp{guard("login"), "/verify"}
	proxy := &reverseproxy.Handler{}
	for _, c := range []struct {
		name   string
		routes caddyhttp.RouteList
		want   string // the finding's reason, "" for none
	}{
		{"served in a handle block", caddyhttp.RouteList{route(login), pathRoute("/verify*", sub(route(stepUpRoute{}))), route(proxy)}, ""},
		{"served by a route with its own matcher", caddyhttp.RouteList{route(login), pathRoute("/verify", stepUpRoute{})}, ""},
		{"no step-up route", caddyhttp.RouteList{route(login), route(proxy)}, "step_up /verify: this server has no step-up route (login_guard { event step_up })"},
		{"a step-up route on another path", caddyhttp.RouteList{route(login), pathRoute("/check*", stepUpRoute{})}, "step_up /verify: no step-up route of this server matches that path"},
		{"nested matchers that exclude the path", caddyhttp.RouteList{route(login), pathRoute("/auth/*", sub(pathRoute("/verify*", stepUpRoute{})))}, "step_up /verify: no step-up route of this server matches that path"},
		{"no step_up on the route", caddyhttp.RouteList{route(loginWithStepUp{guard("login"), ""}), route(proxy)}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := UnservedStepUps(map[string]*caddyhttp.Server{"srv0": {Routes: c.routes}})
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("findings %v, want none", got)
			case c.want != "" && (len(got) != 1 || got[0].Reason != c.want || got[0].Route != "login"):
				t.Fatalf("findings %v, want one: %s", got, c.want)
			}
		})
	}
}
