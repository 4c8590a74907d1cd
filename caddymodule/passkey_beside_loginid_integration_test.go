package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// TestPasskeyBesideALoginIDRecord: an account whose LoginID credential
// the guard recorded (here imported by the operator) and which has no
// passkey does not get a passkey from a clean sign-in alone: whoever has
// the password would register theirs and pass every passkey step-up
// after, around the LoginID credential (403 enrol_needs_link, audit
// reason passkey_enrol_loginid_needs_link). An enrolment link registers
// one; an account with no record still gets its first from a sign-in.
func TestPasskeyBesideALoginIDRecord(t *testing.T) {
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
	begin := func(c *stepClient) (int, string) {
		resp, body := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		return resp.StatusCode, body
	}
	var imported struct {
		Created bool `json:"created"`
	}
	if st := adminCall(t, http.MethodPut, admin+"/login_guard/passkeys/loginid", `{"user":"alice"}`, &imported); st != http.StatusCreated || !imported.Created {
		t.Fatalf("import: %d %+v", st, imported)
	}

	st, body := begin(signIn("203.0.113.31"))
	var got struct{ Error string }
	_ = json.Unmarshal([]byte(body), &got)
	if st != http.StatusForbidden || got.Error != "enrol_needs_link" {
		t.Fatalf("register/begin beside a LoginID record: %d %s, want 403 enrol_needs_link", st, body)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "passkey_enrol_loginid_needs_link") {
		t.Fatalf("no passkey_enrol_loginid_needs_link in the audit lines: %v", auditReasons(t, g, "step_up"))
	}

	var link map[string]string
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"alice","ttl":"1h"}`, &link); st != http.StatusOK || !strings.HasPrefix(link["link"], "/verify/enrol?t=") {
		t.Fatalf("enrol_link: %d %v", st, link)
	}
	owner := newStepClient(t, g, "198.51.100.31")
	if resp, _ := owner.do("GET", link["link"], "", "", host); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d", resp.StatusCode)
	}
	st, opts := begin(owner)
	if st != http.StatusOK {
		t.Fatalf("register/begin through the link: %d %s", st, opts)
	}
	resp, body := owner.do("POST", "/verify/passkey/register/finish", "application/json", string(softauthn.New(t, origin).Create(json.RawMessage(opts))), js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register/finish through the link: %d %s", resp.StatusCode, body)
	}

	// Without a record, a clean sign-in registers the first passkey.
	c := newStepClient(t, g, "203.0.113.32")
	if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=bob&password="+password, host); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's clean login: %d", resp.StatusCode)
	}
	if st, body := begin(c); st != http.StatusOK {
		t.Fatalf("register/begin without a record: %d %s", st, body)
	}
}
