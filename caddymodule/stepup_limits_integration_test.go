package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// TestFactorAttemptsAndLifetimes: with `step_up { factor_attempts 2;
// state_ttl 45s }` the state cookie lives 45s, and the second refused
// LoginID token spends the state: a valid token afterwards is refused
// too, and so is the page.
func TestFactorAttemptsAndLifetimes(t *testing.T) {
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
		}
		step_up {
			factor_attempts  2
			state_ttl        45s
			continuation_ttl 10s
		}
	}`, kh.URL, kh.CAFile)
	site := fmt.Sprintf(`{{listen}} {
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
	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	sc := cookieNamed(resp, "login_guard_stepup")
	if resp.StatusCode != http.StatusSeeOther || sc == nil || sc.MaxAge != 45 {
		t.Fatalf("challenge: %d, state cookie %+v (want Max-Age 45)", resp.StatusCode, sc)
	}
	js := map[string]string{"X-Login-Guard": "1"}
	finish := func(token string) int {
		b, _ := json.Marshal(map[string]string{"jwt": token})
		resp, _ := c.do("POST", "/verify/loginid/finish", "application/json", string(b), js)
		return resp.StatusCode
	}
	now := time.Now()
	if got := finish(kh.Mint(t, "someone.else", "fido2_login", "f-1", now)); got != http.StatusForbidden {
		t.Fatalf("first wrong token: %d", got)
	}
	if resp, _ := c.do("GET", "/verify", "", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after one refusal the state still serves its page: %d", resp.StatusCode)
	}
	if got := finish(kh.Mint(t, "someone.else", "fido2_login", "f-2", now)); got != http.StatusForbidden {
		t.Fatalf("second wrong token: %d", got)
	}
	if !hasReason(auditReasons(t, g, lastAudit(t, g)["route"].(string)), "step_up_factors_exhausted") {
		t.Fatalf("no step_up_factors_exhausted in the audit: %v", lastAudit(t, g))
	}
	if got := finish(kh.Mint(t, "sandbox-challenge", "fido2_login", "f-3", now)); got != http.StatusForbidden || c.cookie("login_guard_factor") != "" {
		t.Fatalf("a valid token on a spent state: %d", got)
	}
	if resp, _ := c.do("GET", "/verify", "", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("page of a spent state: %d", resp.StatusCode)
	}

	for _, bad := range []string{"state_ttl 10s", "continuation_ttl 10m", "factor_attempts 0", "held_per_client 0"} {
		src := "{\n\tlogin_guard {\n\t\tstep_up {\n\t\t\t" + bad + "\n\t\t}\n\t}\n}\n"
		if err := caddytest.ValidateCaddyfile(t, src); err == nil || !strings.Contains(err.Error(), "Caddyfile:4") {
			t.Errorf("%s: %v, want a refusal naming line 4", bad, err)
		}
	}
}

// TestHeldShareIsPerClient: one client over its share of the held store
// does not cancel another user's pending step-up; its own extra
// challenges fall back to resubmit.
func TestHeldShareIsPerClient(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	global := strings.Replace(stepUpGlobal, "\t\tsandbox\n", "\t\tsandbox\n\t\tstep_up {\n\t\t\theld_per_client 2\n\t\t}\n", 1)
	g := caddytest.Start(t, global, fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()))

	victim := newStepClient(t, g, "198.51.100.7")
	if resp, _ := victim.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("victim's challenge: %d", resp.StatusCode)
	}
	flood := newStepClient(t, g, "192.0.2.2") // the sandbox challenges this address
	for i := range 5 {
		// Another user name each time: the per-client share is tested.
		form := fmt.Sprintf("username=flood%d&password=x", i)
		resp, _ := flood.do("POST", "/api/login", "application/x-www-form-urlencoded", form, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
			t.Fatalf("flood %d: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	full := 0
	for _, rs := range auditReasons(t, g, lastAudit(t, g)["route"].(string)) {
		for _, r := range rs {
			if r == "step_up_held_full" {
				full++
			}
		}
	}
	if full != 3 {
		t.Fatalf("%d challenges fell back to resubmit, want 3 (share of 2)", full)
	}
	// The victim's held login is still there.
	passFactor(t, g, victim)
	resp, _ := victim.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("victim's completion: %d", resp.StatusCode)
	}
	resp, _ = victim.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("victim's continuation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
