package layout

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	handlerID = regexp.MustCompile(`"http\.handlers\.[a-z_]+"`)
	appID     = regexp.MustCompile(`ID:\s*"login_guard"`)
)

// TestModuleRoles: the route handler modules never import each other (they
// share the app and internal/request instead), and the app imports none of
// the modules built on it: handlers, the admin API, engine guests.
func TestModuleRoles(t *testing.T) {
	_, _, pkgs := loadModule(t)
	var handlers, apps []string
	for _, dir := range sortedDirs(pkgs) {
		if handlerID.MatchString(pkgs[dir].source) {
			handlers = append(handlers, dir)
		}
		if appID.MatchString(pkgs[dir].source) {
			apps = append(apps, dir)
		}
	}
	if len(handlers) == 0 || len(apps) != 1 {
		t.Fatalf("found handler packages %v and app packages %v: want some handlers and one app", handlers, apps)
	}
	for _, h := range handlers {
		others := func(imp string) bool { return imp != h && slices.Contains(handlers, imp) }
		if chain := reaches(pkgs, h, others); chain != nil {
			t.Errorf("handler package %s reaches another handler package: %s", h, strings.Join(chain, " -> "))
		}
	}
	app := apps[0]
	builtOnApp := func(imp string) bool {
		if slices.Contains(handlers, imp) {
			return imp != app
		}
		return (strings.Contains(pkgs[imp].sourceOrEmpty(), `"admin.api.`) || isEngineGuest(imp)) && imp != app
	}
	if chain := reaches(pkgs, app, builtOnApp); chain != nil {
		t.Errorf("the app package %s must not import what is built on it: %s", app, strings.Join(chain, " -> "))
	}
}

// isEngineGuest: a package below an engines folder whose own name is the
// engine's (engines/forter, engines/sandbox...).
func isEngineGuest(dir string) bool {
	parent := path.Dir(dir)
	return path.Base(parent) == "engines" && path.Base(dir) != "standard"
}

func (p *pkg) sourceOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.source
}
