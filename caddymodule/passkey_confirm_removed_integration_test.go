package caddymodule_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// TestRemovedPasskeyStopsItsConfirmation: a confirmation made with a
// passkey that is then removed through the admin API no longer adds a
// passkey to the account, whether the registration was begun before the
// removal or after: 403 enrol_confirm (the page's script confirms again),
// audit reason passkey_enrol_confirm_credential_removed, and nothing
// stored. So an attacker with the password and a stolen passkey cannot
// keep a foothold through a confirmation made before the operator removed
// it. The owner, confirming with a passkey still enrolled, adds one.
func TestRemovedPasskeyStopsItsConfirmation(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, admin, host, js := enrolAdminGuard(t, upstream)
	origin := "http://" + host["Host"]
	signIn := func(ip string) *stepClient {
		t.Helper()
		c := newStepClient(t, g, ip)
		resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, host)
		if resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
			t.Fatalf("clean login: %d", resp.StatusCode)
		}
		return c
	}
	confirm := func(c *stepClient, key *softauthn.Authenticator, counter uint32) {
		t.Helper()
		resp, opts := c.do("POST", "/verify/passkey/confirm/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("confirm/begin: %d %s", resp.StatusCode, opts)
		}
		resp, body := c.do("POST", "/verify/passkey/confirm/finish", "application/json", string(key.Get(json.RawMessage(opts), counter)), js)
		if resp.StatusCode != http.StatusOK || c.cookie("login_guard_confirm") == "" {
			t.Fatalf("confirm/finish: %d %s", resp.StatusCode, body)
		}
	}
	begin := func(c *stepClient) (int, string) {
		t.Helper()
		resp, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		return resp.StatusCode, opts
	}
	finish := func(c *stepClient, key *softauthn.Authenticator, opts string) (int, string) {
		t.Helper()
		resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js)
		return resp.StatusCode, body
	}
	register := func(c *stepClient, key *softauthn.Authenticator) {
		t.Helper()
		code, opts := begin(c)
		if code != http.StatusOK {
			t.Fatalf("register/begin: %d %s", code, opts)
		}
		if code, body := finish(c, key, opts); code != http.StatusOK {
			t.Fatalf("register/finish: %d %s", code, body)
		}
	}
	refused := func(what string, code int, body string) {
		t.Helper()
		var got struct{ Error string }
		_ = json.Unmarshal([]byte(body), &got)
		if code != http.StatusForbidden || got.Error != "enrol_confirm" {
			t.Fatalf("%s with a confirmation by a removed passkey: %d %s, want 403 enrol_confirm", what, code, body)
		}
	}
	count := func() int {
		t.Helper()
		var out struct{ Credentials []json.RawMessage }
		if st := adminCall(t, http.MethodGet, admin+"/login_guard/passkeys/credentials?user=alice", "", &out); st != http.StatusOK {
			t.Fatalf("list the passkeys: %d", st)
		}
		return len(out.Credentials)
	}

	// The owner has two passkeys; one of them is stolen.
	owner := signIn("198.51.100.10")
	stolen, kept := softauthn.New(t, origin), softauthn.New(t, origin)
	register(owner, stolen)
	confirm(owner, stolen, 1)
	register(owner, kept)

	// The attacker, with the password and the stolen passkey, confirms
	// and begins a registration; then the operator removes the passkey.
	attacker := signIn("203.0.113.20")
	confirm(attacker, stolen, 2)
	code, opts := begin(attacker)
	if code != http.StatusOK {
		t.Fatalf("register/begin before the removal: %d %s", code, opts)
	}
	id := base64.RawURLEncoding.EncodeToString(stolen.CredentialID)
	if st := adminCall(t, http.MethodDelete, admin+"/login_guard/passkeys/credentials?user=alice&id="+id, "", nil); st != http.StatusOK {
		t.Fatalf("remove the stolen passkey: %d", st)
	}
	own := softauthn.New(t, origin)
	code, body := finish(attacker, own, opts)
	refused("register/finish", code, body)
	code, body = begin(attacker)
	refused("register/begin", code, body)
	if n := count(); n != 1 {
		t.Fatalf("%d passkeys after the removal, want the kept one only", n)
	}
	// The enrol page still opens: its script confirms again, which the
	// removed passkey can no longer do.
	if resp, body := attacker.do("GET", "/verify/enrol", "", "", host); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) {
		t.Fatalf("enrol page: %d", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "passkey_enrol_confirm_credential_removed") {
		t.Fatalf("no passkey_enrol_confirm_credential_removed in the audit lines: %v", auditReasons(t, g, "step_up"))
	}

	// The owner confirms with the passkey still enrolled and adds one.
	owner = signIn("198.51.100.11")
	confirm(owner, kept, 1)
	register(owner, softauthn.New(t, origin))
	if n := count(); n != 2 {
		t.Fatalf("%d passkeys, want 2", n)
	}
}
