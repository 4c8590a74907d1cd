package routecheck

import (
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// eventGuard stands for a guard route handler of an event.
type eventGuard struct{ name, event string }

func (g eventGuard) GuardRouteName() string { return g.name }
func (g eventGuard) GuardEvent() string     { return g.event }
func (eventGuard) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

func selectedBy(r caddyhttp.Route, set ...any) caddyhttp.Route {
	r.MatcherSets = append(r.MatcherSets, caddyhttp.MatcherSet(set))
	return r
}

// TestMethodMatched: a login, operation or rules-only route selected by
// a method matcher of its own route is reported, at any depth; a logout,
// a `not method` and a path alone are not.
func TestMethodMatched(t *testing.T) {
	post := caddyhttp.MatchMethod{"POST"}
	path := caddyhttp.MatchPath{"/api/login"}
	notPage := &caddyhttp.MatchNot{MatcherSets: []caddyhttp.MatcherSet{{caddyhttp.MatchMethod{"GET", "HEAD", "OPTIONS"}}}}
	routes := caddyhttp.RouteList{
		selectedBy(route(eventGuard{"login", "login"}), post, path),
		selectedBy(route(eventGuard{"path-only", "login"}), path),
		selectedBy(route(eventGuard{"logout", "logout"}), post, path),
		selectedBy(route(eventGuard{"transfer", "operation"}), notPage, path),
		selectedBy(route(eventGuard{"transfer-post", "operation"}), path, post),
		route(sub(selectedBy(route(eventGuard{"reset", "none"}), path, &post))), // provisioned: a pointer
		route(guard("no-event")),
	}
	got := MethodMatched(map[string]*caddyhttp.Server{"srv0": {Routes: routes}})
	var names []string
	for _, f := range got {
		names = append(names, f.Route)
		if f.Server != "srv0" || f.Reason != reasonMethodMatcher {
			t.Errorf("finding %+v", f)
		}
	}
	if want := []string{"login", "transfer-post", "reset"}; len(names) != len(want) || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("reported %v, want %v", names, want)
	}
}
