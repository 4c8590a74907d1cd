//go:build redis

package redistest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/internal/tokens"
)

const stepUpGlobal = `		sandbox
		passkeys {
			rp_id localhost
			rp_origin http://localhost
		}`

const stepUpSite = `	@login {
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
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
		}
	}`

// The sandbox engine challenges this user.
const challengedForm = "username=sandbox-challenge&password=correct+horse&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"

// browser is one user's browser: a cookie jar, an address and an agent,
// talking to whichever instance the load balancer picks.
type browser struct {
	t   *testing.T
	f   *fleet
	jar map[string]*http.Cookie
}

func (b *browser) do(instance int, method, path, body string, hdr map[string]string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.f.procs[instance].URL("site")+path, strings.NewReader(body))
	// One host for the fleet, as a load balancer in front gives it: a
	// step-up state is finished only on the host its login came to.
	req.Host = "127.0.0.1"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (fleet test)")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range b.jar {
		req.AddCookie(c)
	}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	return resp
}

func (b *browser) cookie(name string) string {
	if c := b.jar[name]; c != nil {
		return c.Value
	}
	return ""
}

// passFactor stands in for a passed passkey assertion: it seals the
// factor token with the guard's keys from the shared storage.
func (b *browser) passFactor() {
	b.t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.f.storage, "login_guard", "keys.json"))
	if err != nil {
		b.t.Fatal(err)
	}
	st, err := tokens.ParseStored(raw)
	if err != nil {
		b.t.Fatal(err)
	}
	ks, err := tokens.NewKeyset(st)
	if err != nil {
		b.t.Fatal(err)
	}
	var state stepup.State
	if err := ks.Open(stepup.PurposeState, b.cookie("login_guard_stepup"), time.Now(), &state); err != nil {
		b.t.Fatalf("state cookie does not open: %v", err)
	}
	tok, err := ks.Seal("stepup_factor", map[string]string{"h": state.Handle, "m": "passkey"}, time.Now(), time.Minute)
	if err != nil {
		b.t.Fatal(err)
	}
	b.jar["login_guard_factor"] = &http.Cookie{Name: "login_guard_factor", Value: tok}
}

// TestStepUpAcrossInstances: a login challenged on one instance, the
// factor completed on the other, the continuation followed back on the
// first: the portal receives the original login exactly once, and every
// token of the step-up is spent on both instances.
func TestStepUpAcrossInstances(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), stepUpGlobal, stepUpSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}

	resp := b.do(0, "POST", "/api/login", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" || b.cookie("login_guard_stepup") == "" {
		t.Fatalf("challenge on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal saw the challenged login before the step-up (%d)", n)
	}
	b.passFactor()
	state := b.cookie("login_guard_stepup")
	same := map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}
	resp = b.do(1, "POST", "/verify/complete", "", same)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" || b.cookie("login_guard_continue") == "" {
		t.Fatalf("completion on instance 1: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	continuation := b.cookie("login_guard_continue")
	resp = b.do(0, "POST", "/api/login", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("continuation on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	n, body := f.portal.Count("/api/login", "sandbox-challenge"), f.portal.Body("/api/login", "sandbox-challenge")
	if n != 1 || body != challengedForm {
		t.Fatalf("portal saw %d logins, body %q; want the original once", n, body)
	}

	// The continuation replayed on the other instance, and the state
	// completed again there, are refused: spent everywhere.
	b.jar["login_guard_continue"] = &http.Cookie{Name: "login_guard_continue", Value: continuation}
	if resp := b.do(1, "POST", "/api/login", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed continuation on instance 1: %d", resp.StatusCode)
	}
	delete(b.jar, "login_guard_continue")
	b.jar["login_guard_stepup"] = &http.Cookie{Name: "login_guard_stepup", Value: state}
	if resp := b.do(0, "POST", "/verify/complete", "", same); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second completion on instance 0: %d", resp.StatusCode)
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 1 {
		t.Fatalf("portal saw %d logins after the replays", n)
	}
}
