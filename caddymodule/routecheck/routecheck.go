// Package routecheck finds guard routes Caddy can never reach. In a route
// list Caddy runs the routes in order, each handler passing the request
// to the next; a handler that answers (reverse_proxy, respond, redir,
// abort, error, file_server, or a named route doing so through invoke)
// ends it there. So a guard placed after a
// route that selects every request and answers it, or after an answering
// handler in its own route, never sees a request: every login reaches the
// portal unjudged, and nothing says so. The Caddyfile's directive order
// keeps the guard first in a site, but a `route` block runs its
// directives as written and a JSON config as it says.
//
// It also reports a guard that runs after a front controller's try_files
// (`try_files {path} /index.php?{query}`): once that file exists, every
// request reaches the guard rewritten to it, and a path matcher written
// for the path the client sent never matches. That one is likely rather
// than certain (the guard's matcher may expect the rewrite).
//
// Otherwise the check only reports what is certain: a route with matchers
// may not select a guarded request, so only routes without any count as
// answering everything. It reads the provisioned routes and changes
// nothing.
package routecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
	"go.uber.org/zap"
)

// Warn logs, at error level, each guard route of ctx's http app that no
// request can reach. A log line rather than a refusal: the check reads
// the config, not the traffic, and a config that loaded keeps serving.
// The app calls it once started, when every app is provisioned.
func Warn(ctx caddy.Context, logger *zap.Logger) {
	v, err := ctx.AppIfConfigured("http")
	if err != nil {
		return
	}
	h, ok := v.(*caddyhttp.App)
	if !ok {
		return
	}
	for _, f := range Unreachable(h.Servers) {
		if f.Certain {
			logger.Error("login_guard route never runs: every request is answered before it reaches the guard",
				zap.String("server", f.Server), zap.String("route", f.Route), zap.String("answered_by", f.Reason))
			continue
		}
		logger.Warn("login_guard route sees rewritten paths: a path matcher for the path the client sent never matches",
			zap.String("server", f.Server), zap.String("route", f.Route), zap.String("rewritten_by", f.Reason))
	}
	for _, f := range MethodMatched(h.Servers) {
		logger.Warn("login_guard route selected by a method matcher: Caddy compares the method as sent, while Django, Flask, Symfony, "+
			"ASP.NET Core and php_fastcgi read post as POST, so a post reaches the portal unjudged; select the login path alone "+
			"(docs/configuration.md, matching the login path)",
			zap.String("server", f.Server), zap.String("route", f.Route))
	}
	for _, f := range UnservedStepUps(h.Servers) {
		logger.Error("login_guard step_up target served by no step-up route: challenged requests would get the portal's answer for that path",
			zap.String("server", f.Server), zap.String("route", f.Route), zap.String("reason", f.Reason))
	}
}

// Guard is a guard's route handler: it says which route it is.
type Guard interface {
	GuardRouteName() string
}

// Finding is one guard route that can never run (Certain), or that only
// sees paths a try_files rewrote.
type Finding struct {
	Server string // the http app's server name
	Route  string // the guard route's name
	// Reason says what answers every request first, or what rewrites it.
	Reason  string
	Certain bool
}

func (f Finding) String() string {
	if !f.Certain {
		return fmt.Sprintf("server %s: login_guard route %q sees rewritten paths: %s", f.Server, f.Route, f.Reason)
	}
	return fmt.Sprintf("server %s: login_guard route %q never runs: %s", f.Server, f.Route, f.Reason)
}

// Unreachable lists the guard routes of the servers that no request can
// reach, or that see only rewritten paths, server by server in name order.
func Unreachable(servers map[string]*caddyhttp.Server) []Finding {
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		if s := servers[name]; s != nil {
			w := walker{server: name, named: s.NamedRoutes}
			w.routes(s.Routes, "", "")
			out = append(out, w.found...)
		}
	}
	return out
}

type walker struct {
	server string
	named  map[string]*caddyhttp.Route // the server's, for invoke
	found  []Finding
}

// maxDepth bounds how deep answers follows subroutes and named routes (a
// named route may invoke itself).
const maxDepth = 32

// routes walks a route list that requests reach only if blocked is empty
// (otherwise it says what answered them before); rewritten says what
// rewrote their paths before, if anything did.
func (w *walker) routes(list caddyhttp.RouteList, blocked, rewritten string) {
	takenGroups := map[string]string{}
	for i, r := range list {
		routeBlocked := blocked
		if routeBlocked == "" && r.Group != "" {
			routeBlocked = takenGroups[r.Group]
		}
		for _, h := range r.Handlers {
			if g, ok := h.(Guard); ok {
				switch {
				case routeBlocked != "":
					w.found = append(w.found, Finding{Server: w.server, Route: g.GuardRouteName(), Reason: routeBlocked, Certain: true})
				case rewritten != "":
					w.found = append(w.found, Finding{Server: w.server, Route: g.GuardRouteName(), Reason: rewritten})
				}
			}
			if sub, ok := h.(*caddyhttp.Subroute); ok {
				w.routes(sub.Routes, routeBlocked, rewritten)
			}
			if routeBlocked == "" {
				if what := w.answers(h, 0); what != "" {
					routeBlocked = fmt.Sprintf("%s answers first (route %d)", what, i)
				}
			}
		}
		if to := frontController(r); to != "" && rewritten == "" {
			rewritten = fmt.Sprintf("try_files (route %d) rewrites every request to %s once that file exists", i, to)
		}
		if blocked != "" || len(r.MatcherSets) > 0 {
			continue
		}
		// A route without matchers selects every request: what ends the
		// request in it ends them all, and the routes of its group are
		// skipped once it ran.
		switch {
		case routeBlocked != "":
			blocked = routeBlocked
		case r.Terminal:
			blocked = fmt.Sprintf("route %d, without a matcher, is terminal", i)
		}
		if r.Group != "" && takenGroups[r.Group] == "" {
			takenGroups[r.Group] = fmt.Sprintf("route %d, without a matcher, takes its group %q first", i, r.Group)
		}
	}
}

// answers names a handler that answers every request it is given instead
// of passing it on, or is "".
func (w *walker) answers(h caddyhttp.MiddlewareHandler, depth int) string {
	if depth > maxDepth {
		return ""
	}
	switch v := h.(type) {
	case *reverseproxy.Handler:
		// handle_response routes may hand the request on (forward_auth
		// does on a 2xx): such a proxy does not answer every request.
		if len(v.HandleResponse) == 0 {
			return "reverse_proxy"
		}
	case *caddyhttp.StaticResponse:
		if v.Abort {
			return "abort"
		}
		return "a static response (respond or redir)"
	case *caddyhttp.StaticError:
		return "error"
	case *fileserver.FileServer:
		if !v.PassThru {
			return "file_server"
		}
	case *caddyhttp.Subroute:
		return w.listAnswers(v.Routes, depth+1)
	case *caddyhttp.Invoke:
		if r := w.named[v.Name]; r != nil {
			if what := w.listAnswers(caddyhttp.RouteList{*r}, depth+1); what != "" {
				return fmt.Sprintf("%s (in the named route %s)", what, v.Name)
			}
		}
	}
	return ""
}

// frontController is the fixed path a try_files route rewrites every
// request to once that file exists (its last candidate, when no
// placeholder is in its path), or "".
func frontController(r caddyhttp.Route) string {
	var files *fileserver.MatchFile
	for _, set := range r.MatcherSets {
		for _, m := range set {
			switch v := m.(type) {
			case *fileserver.MatchFile:
				files = v
			case fileserver.MatchFile:
				files = &v
			}
		}
	}
	if files == nil || len(files.TryFiles) == 0 {
		return ""
	}
	for _, h := range r.Handlers {
		if _, ok := h.(*rewrite.Rewrite); ok {
			path, _, _ := strings.Cut(files.TryFiles[len(files.TryFiles)-1], "?")
			if strings.ContainsAny(path, "{=") {
				return "" // a placeholder, or a status (=404)
			}
			return path
		}
	}
	return ""
}

// listAnswers names what answers every request given to a route list.
func (w *walker) listAnswers(list caddyhttp.RouteList, depth int) string {
	for _, r := range list {
		if len(r.MatcherSets) > 0 {
			continue
		}
		for _, h := range r.Handlers {
			if what := w.answers(h, depth); what != "" {
				return what
			}
		}
	}
	return ""
}
