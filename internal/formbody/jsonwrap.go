package formbody

import (
	"net/url"
	"strings"
)

// checkWrapped refuses a JSON body in which the key of a guarded field
// (its last key, for a dotted path) also stands at another path of the
// body, or ends a nested name of the query string. Rails' ParamsWrapper
// (on for JSON in every new Rails app) copies a JSON body's keys under
// the controller's name (params[:session] in a SessionsController) unless
// the request brings that key itself, so a controller that reads
// params[:session][:username] while the browser sends the keys flat reads
// {"username":"alice","session":{"username":"mallory"}}, or the same
// body with ?session[username]=mallory, as mallory, and {"session":
// {"username":"mallory"}} beside a route configured for
// session.username's flat twin. Which name the wrapper uses is the
// portal's (its controller), so no other path may hold the key. Paths
// one of which holds the other ("session" and "session.username") are
// not a conflict.
func (f *Fields) checkWrapped(query url.Values, spec *Spec) error {
	nested := false
	for i := range f.list {
		if strings.IndexByte(f.list[i].name, '.') >= 0 {
			nested = true
			break
		}
	}
	for i := range spec.trackedCount() {
		g := spec.tracked(i)
		key := lastSegment(g)
		if nested || key != g {
			for j := range f.list {
				p := f.list[j].name
				if p != g && strings.EqualFold(lastSegment(p), key) && !pathWithin(p, g) && !pathWithin(g, p) {
					return fieldError(ReasonAmbiguousName, g, "a JSON key some frameworks read as %q stands at another path (Rails' ParamsWrapper)")
				}
			}
		}
		if len(query) == 0 {
			continue
		}
		k := nameKey(key, true)
		for name := range query {
			nk := nameKey(name, true)
			if i := strings.LastIndexByte(nk, 0); i >= 0 && nk[i+1:] == k {
				return fieldError(ReasonAmbiguousName, g, "a query string name some frameworks read as %q beside a JSON body (Rails' ParamsWrapper)")
			}
		}
	}
	return nil
}

// pathWithin reports whether the dotted path outer holds inner: inner is
// outer or starts with outer and a dot.
func pathWithin(inner, outer string) bool {
	return strings.HasPrefix(inner, outer) && (len(inner) == len(outer) || inner[len(outer)] == '.')
}
