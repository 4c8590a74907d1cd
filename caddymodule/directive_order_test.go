package caddymodule_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestDirectiveRunsBeforeHandleBlocks: a site that reaches its portal
// through `handle` blocks (or answers with `respond`), with the
// login_guard directive beside them, is guarded. Caddy sorts a site's
// directives by their registered order and a `handle` block ends the
// request, so a guard ordered after `handle` would never run there: the
// logins would reach the portal unjudged. Here every login is denied by
// address, so one that reaches the portal is a bypass.
func TestDirectiveRunsBeforeHandleBlocks(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	auth := caddytest.NewRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusOK) })
	guard := "\tlogin_guard @login {\n\t\tevent login\n\t\tdeny_ip 127.0.0.0/8\n\t}\n"
	matcher := "\t@login {\n\t\tpath /api/login\n\t}\n"
	sites := map[string]string{
		"handle blocks": fmt.Sprintf("{{listen}} {\n%s%s\thandle /api/* {\n\t\treverse_proxy %s\n\t}\n\thandle {\n\t\trespond \"site\"\n\t}\n}",
			matcher, guard, upstream.Listener.Addr()),
		"handle_path": fmt.Sprintf("{{listen}} {\n%s%s\thandle_path /api/* {\n\t\trewrite * /api{path}\n\t\treverse_proxy %s\n\t}\n}",
			matcher, guard, upstream.Listener.Addr()),
		"respond": fmt.Sprintf("{{listen}} {\n%s%s\trespond \"portal\" 200\n}", matcher, guard),
		// forward_auth is a reverse_proxy whose 2xx answer lets the
		// request go on: the guard after it runs, and is not reported.
		"forward_auth": fmt.Sprintf("{{listen}} {\n%s\tforward_auth %s {\n\t\turi /auth\n\t}\n%s\treverse_proxy %s\n}",
			matcher, auth.Listener.Addr(), guard, upstream.Listener.Addr()),
		// invoke runs a named route, here one that proxies, and ends
		// the request there.
		"invoke": fmt.Sprintf("&(portal) {\n\treverse_proxy %s\n}\n{{listen}} {\n%s%s\tinvoke portal\n}",
			upstream.Listener.Addr(), matcher, guard),
		// A front controller's try_files rewrites every path to
		// /index.php before the guard would see it; in a route block the
		// guard runs first, on the path the client sent.
		"try_files in a route block": fmt.Sprintf("{{listen}} {\n%s\troute {\n%s\t\ttry_files {path} /index.php?{query}\n\t\treverse_proxy %s\n\t}\n}",
			matcher, guard, upstream.Listener.Addr()),
	}
	for name, site := range sites {
		t.Run(name, func(t *testing.T) {
			before := len(upstream.All())
			g := caddytest.Start(t, "", site)
			resp, body := g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("login through %s: %d %q, want the guard's 403", name, resp.StatusCode, body)
			}
			if n := len(upstream.All()) - before; n != 0 {
				t.Fatalf("the portal saw %d denied logins", n)
			}
			if lines := g.AuditLines(t); len(lines) != 1 || lines[0]["action"] != "deny" {
				t.Fatalf("audit lines: %v, want one deny", lines)
			}
			for _, l := range g.Logs(t) {
				if strings.HasPrefix(fmt.Sprint(l["msg"]), "login_guard route") {
					t.Fatalf("a well-placed route was reported: %v", l)
				}
			}
			// Requests the guard does not select still reach the site.
			if resp, body := g.Do(t, mustGet(t, g.URL+"/")); name == "handle blocks" && body != "site" {
				t.Fatalf("GET / through the catch-all handle: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestUnreachableRouteIsLogged: a `route` block runs its directives as
// written, so a login_guard written after reverse_proxy in one never
// runs. The config loads (a reload must not fail on it), and the app
// says so at error level once started, naming the route.
func TestUnreachableRouteIsLogged(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := fmt.Sprintf("{{listen}} {\n\troute {\n\t\treverse_proxy %s\n\t\tlogin_guard /api/login {\n\t\t\tname misplaced\n\t\t\tevent login\n\t\t\tdeny_ip 127.0.0.0/8\n\t\t}\n\t}\n}",
		upstream.Listener.Addr())
	g := caddytest.Start(t, "", site)
	resp, _ := g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password)
	if resp.StatusCode == http.StatusForbidden {
		t.Fatal("the misplaced guard ran: the test's premise is wrong")
	}
	got := routeNeverRuns(t, g)
	if len(got) != 1 || got[0]["route"] != "misplaced" || got[0]["level"] != "error" ||
		!strings.Contains(fmt.Sprint(got[0]["answered_by"]), "reverse_proxy") {
		t.Fatalf("log lines about unreachable routes: %v, want one error naming route misplaced and reverse_proxy", got)
	}
}

// TestRewrittenLoginPathIsLogged: a front controller's try_files rewrites
// every request to /index.php before the guard, once that file exists, so
// the guard's `path /api/login` matcher never matches and a denied login
// reaches the portal. The app warns about it, naming the route; in a
// route block written guard first, nothing is rewritten before the guard
// and nothing is said.
func TestRewrittenLoginPathIsLogged(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.php"), []byte("<?php"), 0o644); err != nil {
		t.Fatal(err)
	}
	upstream := caddytest.NewRecorder(t, portalFake())
	guard := "login_guard @login {\n\t\tevent login\n\t\tdeny_ip 127.0.0.0/8\n\t}"
	top := fmt.Sprintf("{{listen}} {\n\troot * %s\n\t@login {\n\t\tmethod POST\n\t\tpath /api/login\n\t}\n\t%s\n\ttry_files {path} /index.php?{query}\n\treverse_proxy %s\n}",
		root, guard, upstream.Listener.Addr())
	g := caddytest.Start(t, "", top)
	if resp, _ := g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password); resp.StatusCode == http.StatusForbidden {
		t.Fatal("the guard saw the login: the test's premise (try_files rewrites first) is wrong")
	}
	var warned []map[string]any
	for _, l := range g.Logs(t) {
		if strings.HasPrefix(fmt.Sprint(l["msg"]), "login_guard route sees rewritten paths") {
			warned = append(warned, l)
		}
	}
	if len(warned) != 1 || warned[0]["level"] != "warn" || !strings.Contains(fmt.Sprint(warned[0]["rewritten_by"]), "/index.php") {
		t.Fatalf("warnings about rewritten paths: %v, want one naming /index.php", warned)
	}
}

// TestUnservedStepUpIsLogged: a login route whose step_up path no step-up
// route serves (one forgotten, a typo) sends every challenged login to the
// portal's 404. The app says so at start, naming the route; with the
// step-up route in place nothing is said.
func TestUnservedStepUpIsLogged(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := func(target string) string {
		return fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tname login\n\t\tevent login\n\t\tstep_up %s\n\t}\n"+
			"\thandle /verify* {\n\t\tlogin_guard {\n\t\t\tevent step_up\n\t\t}\n\t}\n\treverse_proxy %s\n}", target, upstream.Listener.Addr())
	}
	unserved := func(g *caddytest.Guarded) []map[string]any {
		var out []map[string]any
		for _, l := range g.Logs(t) {
			if strings.HasPrefix(fmt.Sprint(l["msg"]), "login_guard step_up target served by no step-up route") {
				out = append(out, l)
			}
		}
		return out
	}
	global := "\tlogin_guard {\n\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n\t}"
	if got := unserved(caddytest.Start(t, global, site("/verify"))); len(got) != 0 {
		t.Fatalf("a served step_up logged: %v", got)
	}
	got := unserved(caddytest.Start(t, global, site("/verfy")))
	if len(got) != 1 || got[0]["level"] != "error" || got[0]["route"] != "login" || !strings.Contains(fmt.Sprint(got[0]["reason"]), "/verfy") {
		t.Fatalf("a step_up with a typo: %v, want one error naming the route and the path", got)
	}
}

// routeNeverRuns are the app's lines about guard routes no request reaches.
func routeNeverRuns(t *testing.T, g *caddytest.Guarded) []map[string]any {
	var out []map[string]any
	for _, l := range g.Logs(t) {
		if strings.HasPrefix(fmt.Sprint(l["msg"]), "login_guard route never runs") {
			out = append(out, l)
		}
	}
	return out
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
