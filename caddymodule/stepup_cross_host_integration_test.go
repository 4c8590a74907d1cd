package caddymodule_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
)

// tlsSitesGlobal is the global options of the tests whose sites are
// served over TLS by Caddy's internal CA on one port: storage and log in
// dir, the sandbox engine, passkeys for example.test whose origins are
// the given hosts on that port.
func tlsSitesGlobal(dir string, port int, hosts ...string) string {
	origins := make([]string, len(hosts))
	for i, h := range hosts {
		origins[i] = fmt.Sprintf("https://%s:%d", h, port)
	}
	return fmt.Sprintf(`{
	admin off
	skip_install_trust
	auto_https disable_redirects
	storage file_system %s
	log {
		output file %s
		format json
	}
	login_guard {
		sandbox
		passkeys {
			rp_id     example.test
			rp_origin %s
		}
	}
}`, filepath.Join(dir, "storage"), filepath.Join(dir, "caddy.log"), strings.Join(origins, " "))
}

// crossHostCaddyfile: the login on app.example.test, its step-up pages on
// auth.example.test, both over TLS (Caddy's internal CA) on one port.
func crossHostCaddyfile(dir string, port int, upstream string) string {
	return tlsSitesGlobal(dir, port, "auth.example.test") + fmt.Sprintf(`
https://app.example.test:%[1]d {
	tls internal
	bind 127.0.0.1
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines sandbox
		step_up_hosts auth.example.test:%[1]d
		step_up https://auth.example.test:%[1]d/verify
		step_up_cookie_domain example.test
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
	}
	reverse_proxy %[2]s
}
https://auth.example.test:%[1]d {
	tls internal
	bind 127.0.0.1
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
		}
	}
}
`, port, upstream)
}

// TestStepUpOnAnotherHost follows a challenged login through step-up
// pages on another host as a browser does, its cookie jar keeping each
// cookie to its host or domain: the state reaches the step-up host, the
// completion sends the browser back to the login's host with a
// continuation that host can read, and the portal gets the login once.
func TestStepUpOnAnotherHost(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port := ports.Free(t)
	loadCaddyfile(t, crossHostCaddyfile(dir, port, upstream.Listener.Addr().String()))
	t.Cleanup(func() { _ = caddy.Stop() })
	client := tlsSitesClient(t, port)
	jar := client.Jar
	app := fmt.Sprintf("https://app.example.test:%d", port)
	auth := fmt.Sprintf("https://auth.example.test:%d", port)
	do := func(method, u, body string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("User-Agent", "Mozilla/5.0 (cross-host test)")
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	cookie := func(u, name string) string {
		pu, _ := url.Parse(u)
		for _, c := range jar.Cookies(pu) {
			if c.Name == name {
				return c.Value
			}
		}
		return ""
	}
	waitForTLS(t, client, app, auth)
	resp := do("POST", app+"/api/login", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != auth+"/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	state := cookie(auth, "__Secure-login_guard_stepup")
	if state == "" {
		t.Fatal("the step-up host does not get the state cookie")
	}
	// A passed passkey assertion's factor cookie, host-only on the
	// step-up host.
	g := &caddytest.Guarded{LogPath: filepath.Join(dir, "caddy.log")}
	ks := testKeyset(t, g)
	var st stepup.State
	if err := ks.Open(stepup.PurposeState, state, time.Now(), &st); err != nil {
		t.Fatal(err)
	}
	tok, err := ks.Seal("stepup_factor", map[string]string{"h": st.Handle, "m": "passkey"}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	authURL, _ := url.Parse(auth)
	jar.SetCookies(authURL, []*http.Cookie{{Name: "__Host-login_guard_factor", Value: tok, Path: "/", Secure: true}})

	// The login's own host has a step-up route too (say a weaker one):
	// the state, whose cookie reaches every host of the domain, is not
	// finished there.
	appURL, _ := url.Parse(app)
	jar.SetCookies(appURL, []*http.Cookie{{Name: "__Host-login_guard_factor", Value: tok, Path: "/", Secure: true}})
	if resp := do("POST", app+"/verify/complete", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("finished under the login host's step-up route: %d", resp.StatusCode)
	}
	resp = do("POST", auth+"/verify/complete", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"})
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app+"/api/login" {
		t.Fatalf("complete: %d %q: the completion must send the browser back to the login's host", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cookie(auth, "__Secure-login_guard_stepup") != "" {
		t.Fatal("the completion left the state cookie (set under the domain) in place")
	}
	if cookie(app, "__Secure-login_guard_continue") == "" {
		t.Fatal("the login's host cannot read the continuation")
	}
	resp = do("POST", app+"/api/login", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("continuation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var logins []caddytest.Received
	for _, r := range upstream.All() {
		if r.Path == "/api/login" {
			logins = append(logins, r)
		}
	}
	if len(logins) != 1 || string(logins[0].Body) != challengedForm {
		t.Fatalf("the portal got %d logins", len(logins))
	}
	if cookie(app, "__Secure-login_guard_continue") != "" {
		t.Fatal("the spent continuation cookie was left in place")
	}
}

// TestStepUpPageAllowsTheLoginsOrigin: the step-up page on its own host
// lets its completion form go back to the login's host. The form posts to
// the step-up host, which answers with a redirect to the login's host,
// and browsers check that redirect against the page's form-action
// (browser_cross_host_test.go shows Chromium doing it): with 'self' alone
// the browser stays on the page. A page whose login is on its own host
// keeps 'self' alone.
func TestStepUpPageAllowsTheLoginsOrigin(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	loadCaddyfile(t, strings.Replace(crossHostCaddyfile(dir, port, upstream.Listener.Addr().String()), "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1))
	t.Cleanup(func() { _ = caddy.Stop() })
	client := tlsSitesClient(t, port)
	app := fmt.Sprintf("https://app.example.test:%d", port)
	auth := fmt.Sprintf("https://auth.example.test:%d", port)
	waitForTLS(t, client, app, auth)
	enrolOverHTTP(t, client, fmt.Sprintf("http://127.0.0.1:%d", adminPort), auth, "sandbox-challenge")

	resp, err := client.PostForm(app+"/api/login", url.Values{"username": {"sandbox-challenge"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != auth+"/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get(auth + "/verify")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.Contains(csp, "; form-action 'self' "+app+"; ") {
		t.Fatalf("step-up page: %d, CSP %q: its form-action must allow %s", resp.StatusCode, csp, app)
	}
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "form-action") && d != "form-action 'self' "+app {
			t.Fatalf("form-action %q: only this page's origin and the login's", d)
		}
	}
}

// tlsSitesClient reaches every site the TLS tests serve on port (Caddy's
// internal CA, any host name dialled to loopback), keeping cookies per
// host and domain as a browser does and following no redirect.
func tlsSitesClient(t *testing.T, port int) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // Caddy's internal CA
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// waitForTLS waits until each site serves its certificate: Caddy issues
// them in the background after loading.
func waitForTLS(t *testing.T, client *http.Client, sites ...string) {
	t.Helper()
	for _, u := range sites {
		for deadline := time.Now().Add(20 * time.Second); ; {
			resp, err := client.Get(u + "/ready")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never served TLS: %v", u, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// enrolOverHTTP registers a software passkey for user with an admin
// enrolment link (the admin API at admin) on the step-up host at base,
// so that user's step-up page offers the passkey.
func enrolOverHTTP(t *testing.T, client *http.Client, admin, base, user string) {
	t.Helper()
	var out map[string]string
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"`+user+`"}`, &out); st != http.StatusOK {
		t.Fatalf("enrol_link: %d", st)
	}
	resp, err := client.Get(base + out["link"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	post := func(path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Login-Guard", "1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	opts := post("/verify/passkey/register/begin", "{}")
	post("/verify/passkey/register/finish", string(softauthn.New(t, base).Create(json.RawMessage(opts))))
}
