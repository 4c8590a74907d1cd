package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestReadmeLoginMatcherCatchesVariants checks, in Caddy alone, the
// Tomcat matcher docs/configuration.md recommends (matching the login
// path in every form): the spellings Tomcat routes to a servlet mapped to
// /api/login (;params on any segment, ..; and .; segments Caddy does not
// resolve, any case Caddy's decoding folds), and the trailing slash and
// .suffix Spring MVC before 6.0 maps, are all selected, so none
// reaches the portal unseen. The path-routing differential
// (internal/bodydiff, TestDifferentialLoginPathRouting) checks every
// framework's matcher against the framework itself.
func TestReadmeLoginMatcherCatchesVariants(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := fmt.Sprintf(`{{listen}} {
	@login {
		path_regexp login (?i)^(/.*)?/api(;[^/]*)?/(.*/)?login(\.[^/;]*)?(;[^/]*)?/?$|/\.\.?;[^/]*$
	}
	login_guard @login {
		event login
		deny_ip 127.0.0.0/8
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, "", site)
	for _, p := range []string{"/api/login", "/API/Login", "/api/login;jsessionid=abc", "/api;x=y/login", "/;x=y/api/login", "/x/..;/api/login", "/x/.;/../api/login", "/api/login/.;x", "/api/%6Cogin", "/api/login/", "/api/login.json", "/api/login.json;jsessionid=1/"} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+p, strings.NewReader("username=a&password=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, _ := g.Do(t, req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, the guard did not see it", p, resp.StatusCode)
		}
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("%d variants reached the portal", n)
	}
}
