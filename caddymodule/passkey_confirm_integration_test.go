package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// TestSecondPasskeyNeedsTheFirst: a clean sign-in registers an account's
// first passkey, but adds another only once one of the account's passkeys
// confirms it. An attacker with the password and one clean sign-in (under
// any spelling of the name) cannot put their own authenticator beside the
// owner's; the owner confirms with theirs and adds a second.
func TestSecondPasskeyNeedsTheFirst(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, _, host, js := enrolAdminGuard(t, upstream)
	origin := "http://" + host["Host"]
	signIn := func(ip, user string) *stepClient {
		c := newStepClient(t, g, ip)
		resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username="+user+"&password="+password, host)
		if resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
			t.Fatalf("clean login of %s: %d", user, resp.StatusCode)
		}
		return c
	}
	register := func(c *stepClient, key *softauthn.Authenticator) (int, string) {
		resp, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, opts
		}
		resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js)
		return resp.StatusCode, body
	}
	refusedCode := func(body string) string {
		var got struct{ Error string }
		_ = json.Unmarshal([]byte(body), &got)
		return got.Error
	}

	owner := signIn("198.51.100.10", "alice")
	first := softauthn.New(t, origin)
	if code, body := register(owner, first); code != http.StatusOK {
		t.Fatalf("first passkey: %d %s", code, body)
	}

	for _, name := range []string{"alice", "ALICE", "%C3%80lice"} { // Àlice: accents fold too
		attacker := signIn("203.0.113.20", name)
		// The enrol page still opens: its script confirms first.
		if resp, body := attacker.do("GET", "/verify/enrol", "", "", host); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) {
			t.Fatalf("%s: enrol page %d", name, resp.StatusCode)
		}
		own := softauthn.New(t, origin)
		if code, body := register(attacker, own); code != http.StatusForbidden || refusedCode(body) != "enrol_confirm" {
			t.Fatalf("%s: a sign-in alone added a second passkey: %d %s", name, code, body)
		}
		// Confirming needs the account's passkey: the attacker's own key,
		// even under the owner's credential id, does not do.
		resp, opts := attacker.do("POST", "/verify/passkey/confirm/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: confirm/begin %d %s", name, resp.StatusCode, opts)
		}
		forged := *own
		forged.CredentialID, forged.Handle = first.CredentialID, first.Handle
		resp, body := attacker.do("POST", "/verify/passkey/confirm/finish", "application/json", string(forged.Get(json.RawMessage(opts), 5)), js)
		if resp.StatusCode == http.StatusOK || attacker.cookie("login_guard_confirm") != "" {
			t.Fatalf("%s: a forged confirmation passed: %d %s", name, resp.StatusCode, body)
		}
		if code, body := register(attacker, own); code != http.StatusForbidden {
			t.Fatalf("%s: registered after a refused confirmation: %d %s", name, code, body)
		}
	}

	// The owner confirms with the first passkey, then adds a second.
	resp, opts := owner.do("POST", "/verify/passkey/confirm/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm/begin: %d %s", resp.StatusCode, opts)
	}
	resp, body := owner.do("POST", "/verify/passkey/confirm/finish", "application/json", string(first.Get(json.RawMessage(opts), 1)), js)
	if resp.StatusCode != http.StatusOK || owner.cookie("login_guard_confirm") == "" {
		t.Fatalf("confirm/finish: %d %s", resp.StatusCode, body)
	}
	if code, body := register(owner, softauthn.New(t, origin)); code != http.StatusOK {
		t.Fatalf("second passkey after confirming: %d %s", code, body)
	}
	if owner.cookie("login_guard_confirm") != "" {
		t.Fatal("the confirmation outlived the registration it was for")
	}
	v := auditReasons(t, g, "step_up")
	for _, want := range []string{"passkey_enrol_needs_passkey", "passkey_confirm_ok", "passkey_enrolled"} {
		if !hasReason(v, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if len(upstream.All()) != 4 {
		t.Errorf("the portal got %d logins, want the 4 clean ones", len(upstream.All()))
	}
}
