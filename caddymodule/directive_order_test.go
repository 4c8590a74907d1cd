package caddymodule_test

import (
	"fmt"
	"net/http"
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
	guard := "\tlogin_guard @login {\n\t\tevent login\n\t\tdeny_ip 127.0.0.0/8\n\t}\n"
	matcher := "\t@login {\n\t\tmethod POST\n\t\tpath /api/login\n\t}\n"
	sites := map[string]string{
		"handle blocks": fmt.Sprintf("{{listen}} {\n%s%s\thandle /api/* {\n\t\treverse_proxy %s\n\t}\n\thandle {\n\t\trespond \"site\"\n\t}\n}",
			matcher, guard, upstream.Listener.Addr()),
		"handle_path": fmt.Sprintf("{{listen}} {\n%s%s\thandle_path /api/* {\n\t\trewrite * /api{path}\n\t\treverse_proxy %s\n\t}\n}",
			matcher, guard, upstream.Listener.Addr()),
		"respond": fmt.Sprintf("{{listen}} {\n%s%s\trespond \"portal\" 200\n}", matcher, guard),
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
			// Requests the guard does not select still reach the site.
			if resp, body := g.Do(t, mustGet(t, g.URL+"/")); name == "handle blocks" && body != "site" {
				t.Fatalf("GET / through the catch-all handle: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
