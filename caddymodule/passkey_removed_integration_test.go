package caddymodule_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// TestRemovedPasskeyStopsItsStepUp: a passkey removed through the admin
// API after it passed a step-up's factor, but before the completion,
// does not finish that step-up: the completion is refused (403
// step_up_failed, audit reason step_up_passkey_credential_removed), the
// held login never reaches the portal, and the factor cookie is gone.
// The same flow with the passkey left in place completes.
func TestRemovedPasskeyStopsItsStepUp(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, admin, host, js := enrolAdminGuard(t, upstream)
	origin := "http://" + host["Host"]
	key := softauthn.New(t, origin)
	// The longest credential id WebAuthn allows: the factor cookie names
	// the passkey by a digest, not by the id (1 364 bytes of base64).
	key.CredentialID = make([]byte, 1023)
	if _, err := rand.Read(key.CredentialID); err != nil {
		t.Fatal(err)
	}
	same := map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin", "Host": host["Host"]}

	enrol := func(c *stepClient) {
		t.Helper()
		var out map[string]string
		if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge"}`, &out); st != http.StatusOK {
			t.Fatalf("enrol_link: %d", st)
		}
		c.do("GET", out["link"], "", "", host)
		_, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		if resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js); resp.StatusCode != http.StatusOK {
			t.Fatalf("register/finish: %d %s", resp.StatusCode, body)
		}
	}
	// passed runs a challenged login up to a passed passkey factor.
	passed := func(c *stepClient, counter uint32) {
		t.Helper()
		c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
		resp, opts := c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("passkey/begin: %d %s", resp.StatusCode, opts)
		}
		resp, body := c.do("POST", "/verify/passkey/finish", "application/json", string(key.Get(json.RawMessage(opts), counter)), js)
		if resp.StatusCode != http.StatusOK || c.cookie("login_guard_factor") == "" {
			t.Fatalf("passkey/finish: %d %s", resp.StatusCode, body)
		}
		if n := len(c.cookie("login_guard_factor")); n > 300 {
			t.Fatalf("the factor cookie is %d bytes: it carries the credential id", n)
		}
	}

	c := newStepClient(t, g, "198.51.100.7")
	enrol(c)
	passed(c, 1)
	id := base64.RawURLEncoding.EncodeToString(key.CredentialID)
	if st := adminCall(t, http.MethodDelete, admin+"/login_guard/passkeys/credentials?user=sandbox-challenge&id="+id, "", nil); st != http.StatusOK {
		t.Fatalf("remove the passkey: %d", st)
	}
	resp, body := c.do("POST", "/verify/complete", "", "", same)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("complete after the passkey was removed: %d %q %s, want 403", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if c.cookie("login_guard_factor") != "" || c.cookie("login_guard_continue") != "" {
		t.Fatal("the refused completion left the factor cookie, or gave a continuation")
	}
	if resp, _ := c.do("POST", "/api/login", "", "", host); len(upstream.All()) != 0 {
		t.Fatalf("the held login reached the portal (%d) after the passkey was removed", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "step_up_passkey_credential_removed") {
		t.Fatalf("no step_up_passkey_credential_removed in the audit lines: %v", auditReasons(t, g, "step_up"))
	}

	// Enrolled again, the same flow completes.
	c = newStepClient(t, g, "198.51.100.8")
	enrol(c)
	passed(c, 2)
	resp, _ = c.do("POST", "/verify/complete", "", "", same)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" {
		t.Fatalf("complete with the passkey enrolled: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A factor token of the previous release names the passkey by its
	// whole id ("c"): it is still checked, for its 5 minutes.
	legacy := func(c *stepClient, credential []byte) int {
		t.Helper()
		st := passFactor(t, g, c)
		tok, err := testKeyset(t, g).Seal("stepup_factor", map[string]any{"h": st.Handle, "m": "passkey", "c": credential}, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c.jar["login_guard_factor"] = &http.Cookie{Name: "login_guard_factor", Value: tok}
		resp, _ := c.do("POST", "/verify/complete", "", "", same)
		return resp.StatusCode
	}
	c = newStepClient(t, g, "198.51.100.9")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	if st := legacy(c, key.CredentialID); st != http.StatusTemporaryRedirect {
		t.Fatalf("complete with a previous release's factor token naming an enrolled passkey: %d", st)
	}
	c = newStepClient(t, g, "198.51.100.10")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	if st := legacy(c, []byte("a passkey never enrolled")); st != http.StatusForbidden {
		t.Fatalf("complete with a previous release's factor token naming no enrolled passkey: %d, want 403", st)
	}
}
