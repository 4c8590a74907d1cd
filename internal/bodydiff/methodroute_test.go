//go:build differential

package bodydiff

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The method-routing differential: the path-routing differential sends
// every spelling of the login path as a POST; this one sends the login
// path with every spelling of a method a framework might route to its
// login handler, each carrying the login form, to the real framework and
// through a Caddy with the matcher docs/configuration.md recommends. A
// method Caddy's `method POST` compares as sent, and frameworks do not:
// Django and Werkzeug upper-case it, Symfony's Request does, and Caddy's
// php_fastcgi sends PHP a spelling of POST or GET other than GET as POST.
// Handlers that take every method (Django's view, the PHP script, Rack
// under map, the servlet) reach the login with any of them.

// pageMethod before a method sends the request with no body: the login
// page, which the guard passes unjudged.
const pageMethod = "page "

// loginMethods are the methods each framework gets the login path with.
var loginMethods = []string{
	"POST", "post", "Post", "pOST", "PUT", "put", "PATCH", "patch", "DELETE", "delete",
	"GET", "get", "Get", "OPTIONS", "options", "PROPFIND", "FOO",
}

// TestDifferentialLoginMethodRouting: every method a framework routes to
// its login handler with a login form is selected by the docs' matcher
// and judged; the login page (GET without a body) reaches the framework
// through the guard.
func TestDifferentialLoginMethodRouting(t *testing.T) {
	servers := requireParsers(t)
	recommended := docsMatchers(t)
	otherMethodsRead := 0
	dir, _ := filepath.Abs("testdata")
	for _, fw := range pathFrameworks {
		s := servers[fw.server]
		addr := strings.TrimPrefix(s.base, "http://")
		proxy := "reverse_proxy " + addr
		switch fw.server {
		case "phpfpm", "phpfront":
			// The site as startPHPFPM serves it, with a Caddy of this
			// test's own in front of php-fpm.
			addr = s.unguarded
			root := map[string]string{"phpfpm": "docroot", "phpfront": "frontroot"}[fw.server]
			proxy = fmt.Sprintf("root * %s\n\tphp_fastcgi %s", filepath.Join(dir, "php", root), servers["phpfpm"].fastcgi)
		}
		matcher, ok := recommended[fw.name]
		if !ok {
			t.Errorf("%s: docs/configuration.md recommends no matcher", fw.label)
			continue
		}
		methods := append(append([]string(nil), loginMethods...), pageMethod+http.MethodGet)
		each := func(i int) (string, string) { return methods[i], fw.login }
		direct := sendEach(t, addr, fw.router, len(methods), each)
		guarded := s.guarded
		if guarded == "" {
			guarded = guardingCaddy(t, proxy, matcher)
		}
		via := sendEach(t, guarded, fw.router, len(methods), each)
		// What the matcher with `method POST`, as the docs had it, let
		// through.
		old := sendEach(t, guardingCaddy(t, proxy, "method POST\n\t\t"+matcher), fw.router, len(methods), each)
		var reached, oldMissed []string // a method written with "+" when the handler read the form's user
		for i, m := range methods {
			if strings.HasPrefix(m, pageMethod) {
				if !via[i].upstream {
					t.Errorf("%s: the login page (GET without a body) did not reach the framework through the guard: %d %.100q", fw.label, via[i].status, via[i].body)
				}
				continue
			}
			switch {
			case via[i].status == http.StatusForbidden && !via[i].upstream:
			case direct[i].reached && via[i].upstream:
				t.Errorf("%s: %s %s reaches the login handler, and %s does not select it: Caddy passes it on (%d)", fw.label, m, fw.login, matcher, via[i].status)
			case via[i].reached:
				t.Errorf("%s: %s %s reaches the login handler through Caddy unguarded (%d)", fw.label, m, fw.login, via[i].status)
			}
			if !direct[i].reached {
				continue
			}
			// Each login handler answers the user it read from the form,
			// as the framework's login code reads it.
			name := m
			if strings.HasSuffix(direct[i].body, " user=a") {
				if m != http.MethodPost {
					otherMethodsRead++
				}
				name += "+"
			}
			reached = append(reached, name)
			if old[i].status != http.StatusForbidden {
				oldMissed = append(oldMissed, fmt.Sprintf("%s (%d)", name, old[i].status))
			}
		}
		t.Logf("%s: the login handler takes %s (+: and reads the form's user); `method POST` missed %s", fw.label, strings.Join(reached, " "), strings.Join(oldMissed, " "))
	}
	// The frameworks read a login from methods other than POST: a harness
	// in which none did would check nothing.
	if otherMethodsRead == 0 {
		t.Error("no framework read the form's user from a method other than POST")
	}
}
