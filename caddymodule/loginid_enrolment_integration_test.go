package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// loginIDEnrolPage is an operator's page_template that offers LoginID
// (its SDK would be loaded here) on the step-up and enrolment pages.
const loginIDEnrolPage = `<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title>
<script src="{{.ScriptURL}}" defer></script></head><body>
<main id="login-guard-step-up" data-mode="{{.Mode}}" data-base="{{.Base}}" data-done="{{.Done}}" data-methods="{{.MethodList}}" data-user="{{.User}}">
{{if .Offers "loginid"}}<button type="button" id="login-guard-loginid">LoginID</button>{{end}}
<p id="login-guard-status"></p>
<form id="login-guard-complete" method="post" action="{{.Base}}/complete" hidden></form>
</main></body></html>`

// loginIDEnrolGuard starts a guard whose step-up offers LoginID alone,
// with `require_enrolment` in the loginid block when required, a login
// route the sandbox challenges for sandbox-challenge, and a passwordless
// one; it returns the guard, the admin API's base URL and the key host
// (whose tokens anyone who registered a credential under a name could
// get).
func loginIDEnrolGuard(t *testing.T, required bool) (*caddytest.Guarded, string, *loginidfake.KeyHost) {
	t.Helper()
	upstream := caddytest.NewRecorder(t, portalFake())
	kh := loginidfake.New(t, "client-123")
	page := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(page, []byte(loginIDEnrolPage), 0o600); err != nil {
		t.Fatal(err)
	}
	option := ""
	if required {
		option = "\n\t\t\trequire_enrolment"
	}
	global := fmt.Sprintf(`	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		passkeys {
			rp_id     localhost
			rp_origin http://localhost
		}
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s%s
		}
	}`, kh.URL, kh.CAFile, option)
	site := fmt.Sprintf(`{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines sandbox
		step_up /verify
		success {
			status 303
			location /account
		}
	}
	login_guard /passwordless {
		event login
		assertion passwordless
		when "assertion != \"valid\"" deny
	}
	handle /verify* {
		login_guard {
			event step_up
			methods loginid
			page_template %s
		}
	}
	reverse_proxy %s
}`, page, upstream.Listener.Addr())
	g, admin := startCaddyWithAdmin(t, global, site)
	return g, admin, kh
}

// loginIDFinish posts a LoginID token as the step-up page's script does.
func loginIDFinish(c *stepClient, path, token string) (int, string) {
	b, _ := json.Marshal(map[string]string{"jwt": token})
	resp, body := c.do("POST", path, "application/json", string(b), map[string]string{"X-Login-Guard": "1"})
	return resp.StatusCode, body
}

// passwordless posts a login carrying only a LoginID token.
func passwordless(c *stepClient, user, token string) int {
	form := url.Values{"username": {user}, "loginid_jwt": {token}}
	resp, _ := c.do("POST", "/passwordless", "application/x-www-form-urlencoded", form.Encode(), nil)
	return resp.StatusCode
}

// TestLoginIDCredentialOfAnAttacker: whoever has sandbox-challenge's
// password, and registered a LoginID credential under that name (it had
// none), holds valid LoginID tokens for it. Without require_enrolment
// they pass the step-up with one, and sign in on a passwordless route
// without the password; with it, a user without a LoginID record is not
// offered LoginID and their tokens are refused (assertion_not_enrolled)
// until an admin imports the record.
func TestLoginIDCredentialOfAnAttacker(t *testing.T) {
	now := time.Now()
	t.Run("option off: the bypass", func(t *testing.T) {
		g, _, kh := loginIDEnrolGuard(t, false)
		c := newStepClient(t, g, "198.51.100.7")
		c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		if _, body := c.do("GET", "/verify", "", "", nil); !strings.Contains(body, `data-methods="loginid"`) {
			t.Fatalf("page does not offer LoginID: %s", body)
		}
		if st, body := loginIDFinish(c, "/verify/loginid/finish", kh.Mint(t, "sandbox-challenge", "fido2_login", "a-1", now)); st != http.StatusOK {
			t.Fatalf("the attacker's token: %d %s", st, body)
		}
		if st := passwordless(c, "john.doe", kh.Mint(t, "john.doe", "fido2_login", "a-2", now)); st != http.StatusOK {
			t.Fatalf("passwordless: %d", st)
		}
	})
	t.Run("option on: refused", func(t *testing.T) {
		g, admin, kh := loginIDEnrolGuard(t, true)
		c := newStepClient(t, g, "198.51.100.7")
		c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		// LoginID is the route's only method: the page says how to get a
		// factor instead, and drops the state.
		resp, body := c.do("GET", "/verify", "", "", nil)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "login-guard-loginid") {
			t.Fatalf("page for a user without a LoginID record: %d %s", resp.StatusCode, body)
		}
		c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		st, body := loginIDFinish(c, "/verify/loginid/finish", kh.Mint(t, "sandbox-challenge", "fido2_login", "b-1", now))
		if st != http.StatusForbidden || c.cookie("login_guard_factor") != "" {
			t.Fatalf("the attacker's token: %d %s", st, body)
		}
		line := lastAudit(t, g)
		if line["assertion"] != "invalid:not_enrolled" || !hasReason(auditReasons(t, g, line["route"].(string)), "assertion_not_enrolled") {
			t.Fatalf("audit: %v", line)
		}
		if st := passwordless(c, "john.doe", kh.Mint(t, "john.doe", "fido2_login", "b-2", now)); st != http.StatusForbidden {
			t.Fatalf("passwordless without a record: %d", st)
		}
		if line := lastAudit(t, g); line["assertion"] != "invalid:not_enrolled" {
			t.Fatalf("passwordless audit: %v", line)
		}

		// The operator imports the users whose credentials they know to
		// be their own: their tokens are taken from then on.
		var out struct {
			LoginID *struct{ User, Via string } `json:"loginid"`
			Created bool                        `json:"created"`
			Removed bool                        `json:"removed"`
		}
		if st := adminCall(t, "PUT", admin+"/login_guard/passkeys/loginid", `{"user":"sandbox-challenge"}`, &out); st != http.StatusCreated || !out.Created || out.LoginID.Via != "import" {
			t.Fatalf("import: %d %+v", st, out)
		}
		fresh := newStepClient(t, g, "198.51.100.8")
		fresh.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		if _, body := fresh.do("GET", "/verify", "", "", nil); !strings.Contains(body, `data-methods="loginid"`) {
			t.Fatalf("page after the import: %s", body)
		}
		if st, body := loginIDFinish(fresh, "/verify/loginid/finish", kh.Mint(t, "sandbox-challenge", "fido2_login", "b-3", now)); st != http.StatusOK {
			t.Fatalf("token after the import: %d %s", st, body)
		}
		if resp, _ := fresh.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("complete: %d", resp.StatusCode)
		}
		// Removed, the name's tokens are refused again.
		if st := adminCall(t, "DELETE", admin+"/login_guard/passkeys/loginid?user=sandbox-challenge", "", &out); st != http.StatusOK || !out.Removed {
			t.Fatalf("remove: %d %+v", st, out)
		}
		again := newStepClient(t, g, "198.51.100.9")
		again.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		if st, _ := loginIDFinish(again, "/verify/loginid/finish", kh.Mint(t, "sandbox-challenge", "fido2_login", "b-4", now)); st != http.StatusForbidden {
			t.Fatalf("token after the removal: %d", st)
		}
	})
}

// TestLoginIDEnrolment: under require_enrolment a LoginID registration is
// recorded on the enrolment page under the passkeys' rule: after a clean
// sign-in, never during a step-up, for the signed-in user's own name,
// from a registration token the verifier takes, once.
func TestLoginIDEnrolment(t *testing.T) {
	g, admin, kh := loginIDEnrolGuard(t, true)
	now := time.Now()
	js := map[string]string{"X-Login-Guard": "1"}

	// The challenged attacker cannot register during the step-up, nor
	// with the session a passed step-up would give.
	attacker := newStepClient(t, g, "198.51.100.7")
	attacker.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	resp, body := attacker.do("POST", "/verify/loginid/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"enrol_not_allowed"`) {
		t.Fatalf("register/begin during a step-up: %d %s", resp.StatusCode, body)
	}
	if st, _ := loginIDFinish(attacker, "/verify/loginid/register/finish", kh.Mint(t, "sandbox-challenge", "fido2_register", "r-0", now)); st != http.StatusForbidden {
		t.Fatalf("register/finish during a step-up: %d", st)
	}

	// A clean sign-in registers the user's LoginID credential.
	alice := newStepClient(t, g, "198.51.100.8")
	resp, _ = alice.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil)
	if resp.StatusCode != http.StatusSeeOther || alice.cookie("login_guard") == "" {
		t.Fatalf("clean login: %d", resp.StatusCode)
	}
	resp, body = alice.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-methods="loginid"`) || !strings.Contains(body, `data-user="alice"`) ||
		!strings.Contains(body, "<title>Register a LoginID sign-in</title>") {
		t.Fatalf("enrol page: %d %s", resp.StatusCode, body)
	}
	if resp, body := alice.do("POST", "/verify/loginid/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin: %d %s", resp.StatusCode, body)
	}
	for _, bad := range []struct{ name, token string }{
		{"another user's registration", kh.Mint(t, "mallory", "fido2_register", "r-1", now)},
		{"an authentication", kh.Mint(t, "alice", "fido2_login", "r-2", now)},
		{"a stale registration", kh.Mint(t, "alice", "fido2_register", "r-3", now.Add(-10*time.Minute))},
		{"a tampered registration", tamper(kh.Mint(t, "alice", "fido2_register", "r-4", now))},
	} {
		if st, body := loginIDFinish(alice, "/verify/loginid/register/finish", bad.token); st != http.StatusForbidden {
			t.Fatalf("%s: %d %s", bad.name, st, body)
		}
	}
	if line := lastAudit(t, g); !hasReason(auditReasons(t, g, line["route"].(string)), "loginid_registration_invalid") {
		t.Fatalf("audit: %v", line)
	}
	if passwordless(alice, "alice", kh.Mint(t, "alice", "fido2_login", "r-5", now)) != http.StatusForbidden {
		t.Fatal("alice passed before her registration was recorded")
	}
	reg := kh.Mint(t, "alice", "fido2_register", "r-6", now)
	if st, body := loginIDFinish(alice, "/verify/loginid/register/finish", reg); st != http.StatusOK || alice.cookie("login_guard_enrolled") == "" {
		t.Fatalf("register/finish: %d %s", st, body)
	}
	// The confirmation names what was registered.
	resp, body = alice.do("GET", "/verify/enrolled", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "LoginID sign-in registered") || strings.Contains(strings.ToLower(body), "passkey") {
		t.Fatalf("enrolled page after a LoginID registration: %d %s", resp.StatusCode, body)
	}
	var out struct {
		LoginID *struct{ User, Via string } `json:"loginid"`
	}
	if st := adminCall(t, "GET", admin+"/login_guard/passkeys/loginid?user=alice", "", &out); st != http.StatusOK || out.LoginID == nil || out.LoginID.Via != "sign_in" || out.LoginID.User != "alice" {
		t.Fatalf("record: %d %+v", st, out.LoginID)
	}
	if st := passwordless(alice, "alice", kh.Mint(t, "alice", "fido2_login", "r-7", now)); st != http.StatusOK {
		t.Fatalf("alice's token after her registration: %d", st)
	}
	// One registration per account; the same token is not taken twice.
	if st, _ := loginIDFinish(alice, "/verify/loginid/register/finish", reg); st != http.StatusForbidden {
		t.Fatalf("replayed registration: %d", st)
	}
	resp, body = alice.do("POST", "/verify/loginid/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"enrol_loginid_registered"`) ||
		!strings.Contains(body, "already has a LoginID sign-in") || strings.Contains(strings.ToLower(body), "passkey") {
		t.Fatalf("second registration: %d %s", resp.StatusCode, body)
	}
	v := auditReasons(t, g, "step_up")
	for _, want := range []string{"passkey_enrol_during_challenge", "loginid_register_begin", "loginid_enrolled", "loginid_already_registered"} {
		if !hasReason(v, want) {
			t.Errorf("audit lacks %s: %v", want, v)
		}
	}
}

// TestLoginIDEnrolmentConfig: require_enrolment takes no argument and
// needs the passkeys block, beside which its records live; the admin API
// answers its junk.
func TestLoginIDEnrolmentConfig(t *testing.T) {
	base := "{\n\tlogin_guard {\n\t\tloginid {\n\t\t\tmode pem\n\t\t\tregion usw1\n\t\t\tclient_id c\n\t\t\trequire_enrolment%s\n\t\t}\n%s\t}\n}\n"
	if err := caddytest.ValidateCaddyfile(t, fmt.Sprintf(base, " yes", "")); err == nil || !strings.Contains(err.Error(), "Caddyfile:7") {
		t.Errorf("require_enrolment with an argument: %v", err)
	}
	if err := caddytest.ValidateCaddyfile(t, fmt.Sprintf(base, "", "")); err == nil || !strings.Contains(err.Error(), "needs a `passkeys") {
		t.Errorf("require_enrolment without passkeys: %v", err)
	}
	if err := caddytest.ValidateCaddyfile(t, fmt.Sprintf(base, "", "\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n")); err != nil {
		t.Errorf("require_enrolment with passkeys: %v", err)
	}

	_, admin, _ := loginIDEnrolGuard(t, true)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/login_guard/passkeys/loginid", "", http.StatusBadRequest},
		{"GET", "/login_guard/passkeys/loginid?user=a&id=x", "", http.StatusBadRequest},
		{"PUT", "/login_guard/passkeys/loginid", `{"name":"a"}`, http.StatusBadRequest},
		{"PUT", "/login_guard/passkeys/loginid?user=a", `{"user":"a"}`, http.StatusBadRequest},
		{"POST", "/login_guard/passkeys/loginid", `{"user":"a"}`, http.StatusMethodNotAllowed},
		{"GET", "/login_guard/passkeys/loginid?user=nobody", "", http.StatusOK},
		{"DELETE", "/login_guard/passkeys/loginid?user=nobody", "", http.StatusOK},
		{"PUT", "/login_guard/passkeys/loginid", `{"user":"Bob"}`, http.StatusCreated},
		{"PUT", "/login_guard/passkeys/loginid", `{"user":"Bob"}`, http.StatusOK},
		// Another spelling of the account's name (the passkeys fold it).
		{"PUT", "/login_guard/passkeys/loginid", `{"user":"bob"}`, http.StatusConflict},
	} {
		if st := adminCall(t, c.method, admin+c.path, c.body, nil); st != c.status {
			t.Errorf("%s %s %s: %d, want %d", c.method, c.path, c.body, st, c.status)
		}
	}
}
