package routecheck

import (
	"maps"
	"slices"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// EventGuard is a guard route that says which event it guards.
type EventGuard interface {
	Guard
	GuardEvent() string
}

// reasonMethodMatcher is the Reason of a MethodMatched finding.
const reasonMethodMatcher = "a method matcher compares the method as sent (post is not POST)"

// MethodMatched lists the guard routes (logins, operations, rules-only
// routes) selected by a method matcher (`method POST`) of their own
// route: Caddy compares the method as the client spells it, while
// Django, Flask, Symfony, ASP.NET Core and php_fastcgi read post as POST,
// so a post reaches the portal's handler unselected. A logout or step-up
// route is not reported (a logout the guard misses harms no one but the
// client that spelt it so), nor a method matcher under `not` (`not method
// GET HEAD OPTIONS`, the operations' advice), nor one on an enclosing
// route.
func MethodMatched(servers map[string]*caddyhttp.Server) []Finding {
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		if s := servers[name]; s != nil {
			out = methodMatched(out, name, s.Routes, 0)
		}
	}
	return out
}

func methodMatched(out []Finding, server string, list caddyhttp.RouteList, depth int) []Finding {
	if depth > maxDepth {
		return out
	}
	for _, r := range list {
		for _, h := range r.Handlers {
			if g, ok := h.(EventGuard); ok && selectsByMethod(r.MatcherSets) {
				switch g.GuardEvent() {
				case "logout", "step_up":
				default:
					out = append(out, Finding{Server: server, Route: g.GuardRouteName(), Reason: reasonMethodMatcher})
				}
			}
			if sub, ok := h.(*caddyhttp.Subroute); ok {
				out = methodMatched(out, server, sub.Routes, depth+1)
			}
		}
	}
	return out
}

// selectsByMethod reports whether one of the sets holds a method matcher
// (a provisioned one is a pointer).
func selectsByMethod(sets caddyhttp.MatcherSets) bool {
	for _, set := range sets {
		for _, m := range set {
			switch m.(type) {
			case caddyhttp.MatchMethod, *caddyhttp.MatchMethod:
				return true
			}
		}
	}
	return false
}
