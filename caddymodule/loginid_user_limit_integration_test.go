package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// TestLoginIDReplayUserLimit: with `replay_cache_per_user 2`, a user past
// two unexpired tokens is refused on their own, with a reason of its own
// (a 403 on the login route; 429 with Retry-After at the step-up, no
// refused factor counted), and another user's tokens still pass.
func TestLoginIDReplayUserLimit(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	kh := loginidfake.New(t, "client-123")
	global := fmt.Sprintf(`	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s
			replay_cache_per_user 2
		}
	}`, kh.URL, kh.CAFile)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /login {
		event login
		assertion optional
	}
	login_guard /api/login {
		event login
		engines sandbox
		step_up /verify
	}
	handle /verify* {
		login_guard {
			event step_up
			methods loginid
		}
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)
	now := time.Now()

	// The login route: two tokens pass, the third is refused.
	login := func(user, nonce string) int {
		form := url.Values{"username": {user}, "password": {password}, "loginid_jwt": {kh.Mint(t, user, "fido2_login", nonce, now)}}
		resp, _ := g.Post(t, "/login", "application/x-www-form-urlencoded", form.Encode())
		return resp.StatusCode
	}
	for i := range 2 {
		if got := login("john.doe", fmt.Sprint("l-", i)); got != http.StatusOK {
			t.Fatalf("login %d: %d", i, got)
		}
	}
	if got := login("john.doe", "l-2"); got != http.StatusForbidden {
		t.Fatalf("a third token at once: %d, want 403", got)
	}
	l := lastAudit(t, g)
	if l["assertion"] != "invalid:replay_user_limit" || !slices.Contains(strs(l["reasons"]), "assertion_replay_user_limit") {
		t.Fatalf("audit of the refused token: assertion %v, reasons %v", l["assertion"], l["reasons"])
	}

	// The step-up: the challenged user spends their share, then is told
	// to wait; another challenged user is not.
	js := map[string]string{"X-Login-Guard": "1"}
	finish := func(c *stepClient, user, nonce string) *http.Response {
		b, _ := json.Marshal(map[string]string{"jwt": kh.Mint(t, user, "fido2_login", nonce, now)})
		resp, _ := c.do("POST", "/verify/loginid/finish", "application/json", string(b), js)
		return resp
	}
	challenge := func(c *stepClient, form string) {
		if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", form, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("challenge: %d", resp.StatusCode)
		}
	}
	flood := newStepClient(t, g, "198.51.100.7")
	challenge(flood, challengedForm)
	for i := range 2 {
		if resp := finish(flood, "sandbox-challenge", fmt.Sprint("s-", i)); resp.StatusCode != http.StatusOK {
			t.Fatalf("step-up token %d: %d", i, resp.StatusCode)
		}
	}
	for i := range 3 { // more than factor_attempts: none is a refused factor
		resp := finish(flood, "sandbox-challenge", fmt.Sprint("s-over-", i))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("step-up token over the share: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		l := lastAudit(t, g)
		if l["assertion"] != "invalid:replay_user_limit" || !slices.Contains(strs(l["reasons"]), "assertion_replay_user_limit") {
			t.Fatalf("audit of the step-up over the share: assertion %v, reasons %v", l["assertion"], l["reasons"])
		}
	}
	other := newStepClient(t, g, "192.0.2.2") // the sandbox challenges this address
	challenge(other, "username=alice&password="+password)
	if resp := finish(other, "alice", "a-1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user's step-up: %d", resp.StatusCode)
	}
}
