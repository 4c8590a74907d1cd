package caddymodule_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/portalfake"
)

// TestOversizeAnswerAfterUpstream: the portal accepts a login with an
// answer larger than hold_limit, and the engines (asked after the
// upstream) deny or challenge it. The answer cannot be held, so the
// client gets the guard's 403 (a challenge becomes a deny with
// response_too_large_to_hold), never the portal's body or session; the
// audit line and the SmartID event are there, and the lockout slot is
// given back at once (the user's next login passes).
func TestOversizeAnswerAfterUpstream(t *testing.T) {
	portal := portalfake.Handler(password)
	portal.SetBigBody(64 << 10)
	upstream := caddytest.NewRecorder(t, portal.Respond)
	sid := smartIDServer(t)
	global := stepUpGlobal[:strings.Index(stepUpGlobal, "\t\tsandbox")] + fmt.Sprintf(`		sandbox
		smartid {
			endpoint %s
			license  TEST-LICENSE-abc
			channel  1
		}
	}`, sid.URL)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /api/login {
		name big
		event login
		engines sandbox
		evaluate after_upstream
		hold_limit 1024
		lockout user 1/1h for 1h deny
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)

	for _, c := range []struct{ ip, reason string }{
		{"192.0.2.3", "engine_decline"},             // sandbox: deny
		{"192.0.2.2", "response_too_large_to_hold"}, // sandbox: challenge
	} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=jlopez&password="+password))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", c.ip)
		resp, body := g.Do(t, req)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "xxxx") || len(resp.Cookies()) != 0 {
			t.Fatalf("%s: got %d, %d bytes, cookies %v; want the guard's 403", c.ip, resp.StatusCode, len(body), resp.Cookies())
		}
		l := lastAudit(t, g)
		if l["action"] != "deny" || !slices.Contains(strs(l["reasons"]), c.reason) || l["smartid"] != "queued" {
			t.Fatalf("%s: audit %v", c.ip, l)
		}
		sid.Next(t)
	}
	// The user's next login from an ordinary address passes: no slot was
	// left held, and neither refusal counted as a failed password.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=jlopez&password="+password))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	if resp, _ := g.Do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("next login: %d, want the portal's 303", resp.StatusCode)
	}
}
