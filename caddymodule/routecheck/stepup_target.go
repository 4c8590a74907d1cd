package routecheck

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
)

// StepUpSender is a guard route that sends challenged requests to a
// step-up route on its own site.
type StepUpSender interface {
	Guard
	// StepUpTargetPath is the path of its step_up target on its own site,
	// or "" (no step_up, or one on another host, which this Caddy may not
	// serve at all).
	StepUpTargetPath() string
}

// StepUpServer is a handler that may be a step-up route: it is one when
// ServesStepUp says so (a login_guard handler saved with event step_up
// serves one).
type StepUpServer interface {
	ServesStepUp() bool
}

// UnservedStepUps lists the guard routes whose step_up path no step-up
// route of their server is placed to serve: every challenged login would
// land on the portal's 404 (a step-up route forgotten, a typo in
// step_up). Only path matchers are weighed (a host or method matcher is
// taken to match), with the prefixes stripped above the step-up route
// (handle_path, uri strip_prefix), so what is reported is certain for
// the path: no step-up route's matchers select it.
func UnservedStepUps(servers map[string]*caddyhttp.Server) []Finding {
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		s := servers[name]
		if s == nil {
			continue
		}
		var t targets
		t.routes(s.Routes, nil, nil, 0)
		for _, snd := range t.senders {
			if why := t.unserved(snd.path); why != "" {
				out = append(out, Finding{Server: name, Route: snd.name, Reason: why, Certain: true})
			}
		}
	}
	return out
}

type sender struct{ name, path string }

// targets is what a server's routes hold: the guard routes that send to
// a step-up path, and each step-up route's chain of enclosing matchers.
type targets struct {
	senders []sender
	served  [][]level
}

// level is one level of matchers above a step-up route, and the path
// prefixes stripped since the level above it (a handle_path, a uri
// strip_prefix), which its path matchers see removed.
type level struct {
	strips []*rewrite.Rewrite
	sets   caddyhttp.MatcherSets
}

// routes walks list for senders and step-up routes. strips are the path
// prefixes stripped since the last level of chain: an unmatched route's
// strip applies to the routes after it in list (handle_path compiles to
// one, first in its subroute), a handler's to the handlers after it in
// its route.
func (t *targets) routes(list caddyhttp.RouteList, chain []level, strips []*rewrite.Rewrite, depth int) {
	if depth > maxDepth {
		return
	}
	for _, r := range list {
		c, s := chain, strips
		if len(r.MatcherSets) > 0 {
			c, s = append(slices.Clip(chain), level{strips: strips, sets: r.MatcherSets}), nil
		}
		for _, h := range r.Handlers {
			if v, ok := h.(StepUpSender); ok && v.StepUpTargetPath() != "" {
				t.senders = append(t.senders, sender{v.GuardRouteName(), v.StepUpTargetPath()})
			}
			if v, ok := h.(StepUpServer); ok && v.ServesStepUp() {
				t.served = append(t.served, c)
			}
			if v, ok := h.(*caddyhttp.Subroute); ok {
				t.routes(v.Routes, c, s, depth+1)
			}
			if p := prefixStrip(h); p != nil {
				s = append(slices.Clip(s), p)
			}
		}
		if len(r.MatcherSets) == 0 {
			strips = s
		}
	}
}

// prefixStrip is h when it is a rewrite that only strips a path prefix
// (what handle_path and uri strip_prefix compile to), else nil: another
// rewrite is taken to leave the path alone, as before.
func prefixStrip(h caddyhttp.MiddlewareHandler) *rewrite.Rewrite {
	v, ok := h.(*rewrite.Rewrite)
	if !ok || v.StripPathPrefix == "" || v.URI != "" || v.StripPathSuffix != "" || len(v.URISubstring) > 0 || len(v.PathRegexp) > 0 {
		return nil
	}
	return &rewrite.Rewrite{StripPathPrefix: v.StripPathPrefix}
}

// atLevel is req as l's matchers see it: with l's strips applied (to a
// copy), or req itself.
func atLevel(l level, req *http.Request) *http.Request {
	if len(l.strips) == 0 {
		return req
	}
	r := req.Clone(req.Context())
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	for _, s := range l.strips {
		s.Rewrite(r, repl)
	}
	return r
}

// unserved says why no step-up route serves path, or is "".
func (t *targets) unserved(path string) string {
	if len(t.served) == 0 {
		return fmt.Sprintf("step_up %s: this server has no step-up route (login_guard { event step_up })", path)
	}
	req := pathRequest(path)
	for _, chain := range t.served {
		if chainMatchesPath(chain, req) {
			return ""
		}
	}
	return fmt.Sprintf("step_up %s: no step-up route of this server matches that path", path)
}

// pathRequest is a GET of path, with the replacer path matchers read.
func pathRequest(path string) *http.Request {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}, Header: http.Header{}}
	return r.WithContext(context.WithValue(context.Background(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
}

// chainMatchesPath: every level of the chain has a matcher set whose path
// matchers all select req, as stripped above that level (the set's other
// matchers taken to match).
func chainMatchesPath(chain []level, req *http.Request) bool {
	for _, l := range chain {
		req = atLevel(l, req)
		if !slices.ContainsFunc(l.sets, func(set caddyhttp.MatcherSet) bool { return pathsMatch(set, req) }) {
			return false
		}
	}
	return true
}

func pathsMatch(set caddyhttp.MatcherSet, req *http.Request) bool {
	for _, m := range set {
		var p caddyhttp.MatchPath
		switch v := m.(type) {
		case caddyhttp.MatchPath:
			p = v
		case *caddyhttp.MatchPath:
			p = *v
		default:
			continue
		}
		if ok, err := p.MatchWithError(req); err != nil || !ok {
			return false
		}
	}
	return true
}

// StepUpServedAt says whether a step-up route of servers is placed to
// serve path, and, when host is not empty, on host: at every level of
// matchers above it, a matcher set selects path (as stripped above that
// level: handle_path, uri strip_prefix) and host with all of its path
// (and host) matchers; and, unless anyHost, some level names
// the host (each of its sets has a host matcher): a route under no host
// matcher serves whatever host a request names, so it says nothing for
// a host. Other matchers are taken to match.
func StepUpServedAt(servers map[string]*caddyhttp.Server, host, path string, anyHost bool) bool {
	req := pathRequest(path)
	req.Host = host
	for _, name := range slices.Sorted(maps.Keys(servers)) {
		s := servers[name]
		if s == nil {
			continue
		}
		var t targets
		t.routes(s.Routes, nil, nil, 0)
		for _, chain := range t.served {
			if chainServes(chain, req, host == "" || anyHost) {
				return true
			}
		}
	}
	return false
}

// chainServes: every level selects req by its path (and its host, when
// req names one); with anyHost false, some level also names the host.
func chainServes(chain []level, req *http.Request, anyHost bool) bool {
	named := anyHost
	selects := func(set caddyhttp.MatcherSet) bool {
		return pathsMatch(set, req) && (req.Host == "" || hostsMatch(set, req))
	}
	for _, l := range chain {
		req = atLevel(l, req)
		if !slices.ContainsFunc(l.sets, selects) {
			return false
		}
		named = named || !slices.ContainsFunc(l.sets, func(set caddyhttp.MatcherSet) bool { return !slices.ContainsFunc(set, isHostMatcher) })
	}
	return named
}

func isHostMatcher(m any) bool {
	switch m.(type) {
	case caddyhttp.MatchHost, *caddyhttp.MatchHost:
		return true
	}
	return false
}

// hostsMatch: every host matcher of set selects req (a set without one
// does).
func hostsMatch(set caddyhttp.MatcherSet, req *http.Request) bool {
	for _, m := range set {
		var h caddyhttp.MatchHost
		switch v := m.(type) {
		case caddyhttp.MatchHost:
			h = v
		case *caddyhttp.MatchHost:
			h = *v
		default:
			continue
		}
		if ok, err := h.MatchWithError(req); err != nil || !ok {
			return false
		}
	}
	return true
}
