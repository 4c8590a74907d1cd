package caddymodule_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// passkeyStepUp is a guard with the admin API whose login route steps up
// with a passkey (loginOpts beside step_up), and a software authenticator
// for one user, sandbox-challenge.
type passkeyStepUp struct {
	t              *testing.T
	g              *caddytest.Guarded
	upstream       *caddytest.Recorder
	admin          string
	host, js, same map[string]string
	key            *softauthn.Authenticator
	counter        uint32
}

func startPasskeyStepUp(t *testing.T, loginOpts string) *passkeyStepUp {
	t.Helper()
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	src := browserCaddyfile(dir, port, upstream.Listener.Addr().String(), "\t\tengines sandbox\n\t\tstep_up /verify\n"+loginOpts)
	src = strings.Replace(src, "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1)
	loadCaddyfile(t, src)
	t.Cleanup(func() { _ = caddy.Stop() })
	p := &passkeyStepUp{t: t, upstream: upstream, admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort)}
	p.g = &caddytest.Guarded{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: filepath.Join(dir, "caddy.log"), Client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	p.host = map[string]string{"Host": fmt.Sprintf("localhost:%d", port)}
	p.js = map[string]string{"X-Login-Guard": "1", "Host": p.host["Host"]}
	origin := "http://" + p.host["Host"]
	p.same = map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin", "Host": p.host["Host"]}
	p.key = softauthn.New(t, origin)
	return p
}

// enrol registers the authenticator through an enrolment link.
func (p *passkeyStepUp) enrol(c *stepClient) {
	p.t.Helper()
	var out map[string]string
	if st := adminCall(p.t, http.MethodPost, p.admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge"}`, &out); st != http.StatusOK {
		p.t.Fatalf("enrol_link: %d", st)
	}
	c.do("GET", out["link"], "", "", p.host)
	_, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", p.js)
	if resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(p.key.Create(json.RawMessage(opts))), p.js); resp.StatusCode != http.StatusOK {
		p.t.Fatalf("register/finish: %d %s", resp.StatusCode, body)
	}
}

// complete runs a challenged login through the passkey factor to the
// completion, which must answer want (307 with a continuation, 303 with
// a resubmit pass).
func (p *passkeyStepUp) complete(c *stepClient, want int) {
	p.t.Helper()
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, p.host)
	resp, opts := c.do("POST", "/verify/passkey/begin", "application/json", "{}", p.js)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("passkey/begin: %d %s", resp.StatusCode, opts)
	}
	p.counter++
	resp, body := c.do("POST", "/verify/passkey/finish", "application/json", string(p.key.Get(json.RawMessage(opts), p.counter)), p.js)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("passkey/finish: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.do("POST", "/verify/complete", "", "", p.same); resp.StatusCode != want {
		p.t.Fatalf("complete: %d %q %s, want %d", resp.StatusCode, resp.Header.Get("Location"), body, want)
	}
}

func (p *passkeyStepUp) removePasskey() {
	p.t.Helper()
	id := base64.RawURLEncoding.EncodeToString(p.key.CredentialID)
	if st := adminCall(p.t, http.MethodDelete, p.admin+"/login_guard/passkeys/credentials?user=sandbox-challenge&id="+id, "", nil); st != http.StatusOK {
		p.t.Fatalf("remove the passkey: %d", st)
	}
}

// TestRemovedPasskeyStopsItsContinuation: a passkey removed through the
// admin API after its step-up completed, but before the continuation
// (which holds the login for up to 5 minutes) was spent, does not let
// the held login reach the portal: 403 step_up_failed, audit reason
// step_up_passkey_credential_removed, and the continuation is spent.
// With the passkey left in place the continuation finishes the login.
func TestRemovedPasskeyStopsItsContinuation(t *testing.T) {
	p := startPasskeyStepUp(t, "")
	c := newStepClient(t, p.g, "198.51.100.7")
	p.enrol(c)
	p.complete(c, http.StatusTemporaryRedirect)
	cont := c.cookie("login_guard_continue")
	if cont == "" {
		t.Fatal("the completion gave no continuation")
	}
	p.removePasskey()
	resp, body := c.do("POST", "/api/login", "", "", p.host)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("continuation after the passkey was removed: %d %s, want 403", resp.StatusCode, body)
	}
	if n := len(p.upstream.All()); n != 0 {
		t.Fatalf("the held login reached the portal (%d requests) after the passkey was removed", n)
	}
	if c.cookie("login_guard_continue") != "" {
		t.Fatal("the refused continuation's cookie stayed")
	}
	if !hasReason(auditReasons(t, p.g, "login"), "step_up_passkey_credential_removed") {
		t.Fatalf("no step_up_passkey_credential_removed in the login route's audit lines: %v", auditReasons(t, p.g, "login"))
	}
	// Spent: sent again, it is refused as used, whatever the passkeys.
	c.jar["login_guard_continue"] = &http.Cookie{Name: "login_guard_continue", Value: cont}
	if resp, _ := c.do("POST", "/api/login", "", "", p.host); resp.StatusCode == http.StatusOK || len(p.upstream.All()) != 0 {
		t.Fatalf("the refused continuation sent again: %d, portal saw %d", resp.StatusCode, len(p.upstream.All()))
	}

	// Enrolled again, the same flow finishes the held login.
	c = newStepClient(t, p.g, "198.51.100.8")
	p.enrol(c)
	p.complete(c, http.StatusTemporaryRedirect)
	resp, _ = c.do("POST", "/api/login", "", "", p.host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || len(p.upstream.All()) != 1 {
		t.Fatalf("continuation with the passkey enrolled: %d %q, portal saw %d", resp.StatusCode, resp.Header.Get("Location"), len(p.upstream.All()))
	}
}

// TestRemovedPasskeyStopsItsResubmitPass: in resubmit mode the completion
// gives a one-time pass; a passkey removed before the pass is spent no
// longer lets the login through: the pass is spent and the login is
// challenged again (audit reason step_up_pass_passkey_credential_removed).
// With the passkey left in place the pass lets it through.
func TestRemovedPasskeyStopsItsResubmitPass(t *testing.T) {
	p := startPasskeyStepUp(t, "\t\tcontinuation resubmit")
	c := newStepClient(t, p.g, "198.51.100.7")
	p.enrol(c)
	p.complete(c, http.StatusSeeOther)
	if c.cookie("login_guard_pass") == "" {
		t.Fatal("the completion gave no pass")
	}
	p.removePasskey()
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, p.host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("resubmit after the passkey was removed: %d %q, want 303 to the step-up", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(p.upstream.All()); n != 0 {
		t.Fatalf("the resubmitted login reached the portal (%d requests) after the passkey was removed", n)
	}
	if c.cookie("login_guard_pass") != "" {
		t.Fatal("the refused pass's cookie stayed")
	}
	if !hasReason(auditReasons(t, p.g, "login"), "step_up_pass_passkey_credential_removed") {
		t.Fatalf("no step_up_pass_passkey_credential_removed in the login route's audit lines: %v", auditReasons(t, p.g, "login"))
	}

	c = newStepClient(t, p.g, "198.51.100.8")
	p.enrol(c)
	p.complete(c, http.StatusSeeOther)
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, p.host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || len(p.upstream.All()) != 1 {
		t.Fatalf("resubmit with the passkey enrolled: %d %q, portal saw %d", resp.StatusCode, resp.Header.Get("Location"), len(p.upstream.All()))
	}
}
