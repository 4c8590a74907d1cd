package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestReadmeLoginMatcherCatchesVariants checks the advice of
// docs/configuration.md (matching the login path in every form): the
// path_regexp matcher guards every spelling of the login path the portal
// may answer to, so none of them reaches the portal unseen.
func TestReadmeLoginMatcherCatchesVariants(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := fmt.Sprintf(`{{listen}} {
	@login {
		method POST
		path_regexp login (?i)^/api/login/?(;.*)?$
	}
	login_guard @login {
		event login
		deny_ip 127.0.0.0/8
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, "", site)
	for _, p := range []string{"/api/login", "/api/login/", "/API/Login", "/api/login;jsessionid=abc", "/Api/Login/;jsessionid=abc", "/api/%6Cogin"} {
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
