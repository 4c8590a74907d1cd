package caddymodule_test

import (
	"context"
	"crypto/tls"
	"fmt"
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
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	client := &http.Client{
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

	// Caddy issues the two certificates in the background after loading.
	for _, u := range []string{app, auth} {
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
