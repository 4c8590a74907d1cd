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

// TestLoginIDReplayShareOfANameAndANetwork: the per-user share is the
// user name as signed, so tokens of a self-registered "ALICE" cannot
// spend alice's share (her own sign-ins must pass); and with
// `replay_cache_per_client 3`, the tokens sent from one network (an
// IPv4 /24) hold at most three entries whatever their users (a 403 on
// the login route, a 429 with Retry-After at the step-up, no refused
// factor counted), while another network's tokens still pass.
func TestLoginIDReplayShareOfANameAndANetwork(t *testing.T) {
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
			replay_cache_per_user   2
			replay_cache_per_client 3
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
	form := "application/x-www-form-urlencoded"
	login := func(from, user, nonce string) int {
		c := newStepClient(t, g, from)
		body := url.Values{"username": {user}, "password": {password}, "loginid_jwt": {kh.Mint(t, user, "fido2_login", nonce, now)}}
		resp, _ := c.do("POST", "/login", form, body.Encode(), nil)
		return resp.StatusCode
	}
	wantRefusal := func(what, sub string) {
		t.Helper()
		l := lastAudit(t, g)
		if l["assertion"] != "invalid:"+sub || !slices.Contains(strs(l["reasons"]), "assertion_"+sub) {
			t.Fatalf("audit of %s: assertion %v, reasons %v", what, l["assertion"], l["reasons"])
		}
	}

	// An attacker's "ALICE" spends its own share, from two networks so
	// that only the user share is at stake; alice's token still passes.
	for i, from := range []string{"203.0.113.9", "198.18.0.9"} {
		if got := login(from, "ALICE", fmt.Sprint("attacker-", i)); got != http.StatusOK {
			t.Fatalf("attacker token %d: %d", i, got)
		}
	}
	if got := login("198.18.1.9", "ALICE", "attacker-2"); got != http.StatusForbidden {
		t.Fatalf("a third ALICE token: %d, want 403", got)
	}
	wantRefusal("ALICE's third token", "replay_user_limit")
	if got := login("192.0.2.50", "alice", "victim-1"); got != http.StatusOK {
		t.Fatalf("alice's own token after ALICE's: %d, want 200", got)
	}

	// One network (198.51.100.0/24) sends the tokens of several names:
	// three pass, the fourth is refused for the network; another network
	// is not limited.
	for i := range 3 {
		if got := login(fmt.Sprint("198.51.100.", 10+i), fmt.Sprint("bulk", i), fmt.Sprint("b-", i)); got != http.StatusOK {
			t.Fatalf("network token %d: %d", i, got)
		}
	}
	if got := login("198.51.100.200", "bulk3", "b-3"); got != http.StatusForbidden {
		t.Fatalf("a fourth token from the network: %d, want 403", got)
	}
	wantRefusal("the network's fourth token", "replay_client_limit")
	if got := login("198.51.101.1", "bulk3", "b-4"); got != http.StatusOK {
		t.Fatalf("a token from another network: %d", got)
	}

	// The step-up from a network already at its share: told to wait, no
	// refused factor counted (more than factor_attempts tries).
	js := map[string]string{"X-Login-Guard": "1"}
	finish := func(c *stepClient, user, nonce string) *http.Response {
		b, _ := json.Marshal(map[string]string{"jwt": kh.Mint(t, user, "fido2_login", nonce, now)})
		resp, _ := c.do("POST", "/verify/loginid/finish", "application/json", string(b), js)
		return resp
	}
	flood := newStepClient(t, g, "198.51.100.7")
	if resp, _ := flood.do("POST", "/api/login", form, challengedForm, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	for i := range 4 {
		resp := finish(flood, "sandbox-challenge", fmt.Sprint("s-over-", i))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("step-up token from a network over its share: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		wantRefusal("the step-up over the network's share", "replay_client_limit")
	}
	other := newStepClient(t, g, "192.0.2.2") // the sandbox challenges this address
	if resp, _ := other.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	if resp := finish(other, "alice", "a-step"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a step-up from another network: %d", resp.StatusCode)
	}
}
