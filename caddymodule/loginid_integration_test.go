package caddymodule_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

func TestLoginIDAssertionsAtTheEdge(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	kh := loginidfake.New(t, "client-123")
	global := loginIDGlobal(kh)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /optional {
		event login
		assertion optional
	}
	login_guard /required {
		event login
		assertion required
	}
	login_guard /passwordless {
		event login
		assertion passwordless
		when "assertion != \"valid\"" deny
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)
	now := time.Now()
	post := func(path, user, token string) int {
		form := url.Values{"username": {user}, "password": {password}}
		if token != "" {
			form.Set("loginid_jwt", token)
		}
		resp, _ := g.Post(t, path, "application/x-www-form-urlencoded", form.Encode())
		return resp.StatusCode
	}
	valid := kh.Mint(t, "john.doe", "fido2_login", "n-1", now)
	cases := []struct {
		name, path, user, token string
		status                  int
		assertion               string
	}{
		{"valid", "/optional", "john.doe", valid, 200, "valid"},
		{"replayed", "/optional", "john.doe", valid, 403, "invalid:replayed"},
		{"wrong user", "/optional", "jane", kh.Mint(t, "john.doe", "fido2_login", "n-2", now), 403, "invalid:wrong_user"},
		{"case-different user", "/optional", "John.Doe", kh.Mint(t, "john.doe", "fido2_login", "n-3", now), 403, "invalid:wrong_user"},
		{"registration token", "/optional", "john.doe", kh.Mint(t, "john.doe", "fido2_register", "n-4", now), 403, "invalid:registration_token"},
		{"too old", "/optional", "john.doe", kh.Mint(t, "john.doe", "fido2_login", "n-5", now.Add(-10*time.Minute)), 403, "invalid:expired"},
		{"tampered", "/optional", "john.doe", tamper(kh.Mint(t, "john.doe", "fido2_login", "n-6", now)), 403, "invalid:bad_signature"},
		{"none given, optional", "/optional", "john.doe", "", 200, ""},
		{"none given, required", "/required", "john.doe", "", 403, ""},
		{"passwordless", "/passwordless", "john.doe", kh.Mint(t, "john.doe", "fido2_login", "n-7", now), 200, "valid"},
	}
	for _, c := range cases {
		if got := post(c.path, c.user, c.token); got != c.status {
			t.Errorf("%s: status %d, want %d", c.name, got, c.status)
		}
	}
	lines := g.AuditLines(t)
	for i, c := range cases {
		if got, _ := lines[i]["assertion"].(string); got != c.assertion && !(strings.HasPrefix(c.assertion, "invalid:") && strings.HasPrefix(got, "invalid:") && c.name == "too old") {
			t.Errorf("%s: audit assertion %q, want %q", c.name, got, c.assertion)
		}
	}
	if n := kh.Requests.Load(); n != 1 {
		t.Errorf("the key is cached: %d fetches, want 1", n)
	}
	if strings.Contains(g.RawLogs(t), valid) {
		t.Error("a token appeared in the logs")
	}
}

// tamper changes one character of the payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

// TestAssertionRequiredFailsClosed: with the key host down a token cannot
// be verified. A route that requires one denies (whatever its engines'
// on_engine_failure says); on_assertion_unverifiable opts out.
func TestAssertionRequiredFailsClosed(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	kh := loginidfake.New(t, "client-123")
	global := loginIDGlobal(kh)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /required {
		event login
		assertion required
		engines sandbox
		on_engine_failure allow
	}
	login_guard /required-allow {
		event login
		assertion required
		on_assertion_unverifiable allow
	}
	login_guard /required-challenge {
		event login
		assertion required
		on_assertion_unverifiable challenge
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)
	kh.Close() // the key host is down; no key is cached yet
	now := time.Now()
	for i, c := range []struct {
		path   string
		status int
	}{
		{"/required", 403},
		{"/required-allow", 200},
		{"/required-challenge", 401},
	} {
		form := url.Values{"username": {"john.doe"}, "password": {password}, "loginid_jwt": {kh.Mint(t, "john.doe", "fido2_login", fmt.Sprintf("down-%d", i), now)}}
		resp, _ := g.Post(t, c.path, "application/x-www-form-urlencoded", form.Encode())
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.path, resp.StatusCode, c.status)
		}
		l := lastAudit(t, g)
		if !slices.Contains(strs(l["reasons"]), "assertion_unverifiable") {
			t.Errorf("%s: audit reasons %v", c.path, l["reasons"])
		}
	}
	if err := caddytest.ValidateCaddyfile(t, "{\n\tlogin_guard {\n\t\tsandbox\n\t}\n}\nhttp://localhost {\n\tlogin_guard {\n\t\tevent login\n\t\ton_assertion_unverifiable allow\n\t}\n}\n"); err == nil || !strings.Contains(err.Error(), "on_assertion_unverifiable needs assertion") {
		t.Errorf("on_assertion_unverifiable without assertion: %v", err)
	}
}

// loginIDGlobal is the global options block that points the guard at kh.
func loginIDGlobal(kh *loginidfake.KeyHost) string {
	return fmt.Sprintf(`	login_guard {
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s
		}
	}`, kh.URL, kh.CAFile)
}
