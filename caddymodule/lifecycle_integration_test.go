package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// heldStart loads the browser test's config (passkeys, a challenged login
// route, the step-up route, the admin API) with the app's Start held, and
// returns the guard, the admin address and the release.
func heldStart(t *testing.T, startWait string) (g *caddytest.Guarded, upstream *caddytest.Recorder, admin string, release func()) {
	t.Helper()
	upstream = caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	src := browserCaddyfile(dir, port, upstream.Listener.Addr().String(), "\t\tengines sandbox\n\t\tstep_up /verify")
	src = strings.Replace(src, "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1)
	src = strings.Replace(src, "\t\tsandbox\n", "\t\tsandbox\n\t\tstart_wait "+startWait+"\n", 1)
	release = caddymodule.HoldStartForTest(t)
	loadCaddyfile(t, src)
	caddymodule.StopHoldingStarts()
	t.Cleanup(func() { _ = caddy.Stop() })
	g = &caddytest.Guarded{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: filepath.Join(dir, "caddy.log"), Client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	return g, upstream, fmt.Sprintf("127.0.0.1:%d", adminPort), release
}

func adminReq(t *testing.T, g *caddytest.Guarded, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return g.Do(t, req)
}

// TestNoRequestSeesAHalfStartedGuard holds the app's Start while the HTTP
// server and the admin API already serve: every guarded request gets 503
// with Retry-After and the portal sees nothing; once Start finishes,
// logins, step-up pages, passkey endpoints and the admin API all work
// (nothing captured the missing keys).
func TestNoRequestSeesAHalfStartedGuard(t *testing.T) {
	g, upstream, admin, release := heldStart(t, "0s")
	host := map[string]string{"Host": strings.Replace(g.URL, "127.0.0.1", "localhost", 1)[len("http://"):]}
	js := map[string]string{"X-Login-Guard": "1", "Host": host["Host"]}
	c := newStepClient(t, g, "198.51.100.7")

	type probe struct{ method, path, ctype, body string }
	window := []probe{
		{"POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password=" + password},
		{"POST", "/api/login", "application/x-www-form-urlencoded", challengedForm},
		{"GET", "/verify", "", ""},
		{"GET", "/verify/enrol", "", ""},
		{"POST", "/verify/passkey/register/begin", "application/json", "{}"},
		{"POST", "/verify/passkey/begin", "application/json", "{}"},
	}
	for _, p := range window {
		hdr := host
		if p.method == "POST" {
			hdr = js
		}
		resp, body := c.do(p.method, p.path, p.ctype, p.body, hdr)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s %s before Start: %d %q %s", p.method, p.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("the portal saw %d requests before Start", n)
	}
	resp, body := adminReq(t, g, "POST", "http://"+admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge","ttl":"1h"}`)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("enrol_link before Start: %d %s", resp.StatusCode, body)
	}
	if resp, body := adminReq(t, g, "GET", "http://"+admin+"/login_guard/routes", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("routes before Start: %d %s", resp.StatusCode, body)
	}

	release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := c.do("GET", "/verify/stepup.js", "", "", host)
		if resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app never started")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A challenged login goes to step-up, its page renders.
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenged login after Start: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// (The user has no passkey yet, so the page says so, with 403.)
	if resp, body := c.do("GET", "/verify", "", "", host); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<title>Set up a passkey to continue</title>") {
		t.Fatalf("step-up page after Start: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.do("POST", "/verify/passkey/begin", "application/json", "{}", js); resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode >= 500 {
		t.Fatalf("passkey begin after Start: %d %s", resp.StatusCode, body)
	}
	// A clean login gets its session and may enrol a passkey.
	clean := newStepClient(t, g, "198.51.100.8")
	resp, _ = clean.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, host)
	if resp.StatusCode != http.StatusSeeOther || clean.cookie("login_guard") == "" {
		t.Fatalf("clean login after Start: %d", resp.StatusCode)
	}
	if resp, body := clean.do("GET", "/verify/enrol", "", "", host); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) {
		t.Fatalf("enrol page after Start: %d", resp.StatusCode)
	}
	if resp, body := clean.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin after Start: %d %s", resp.StatusCode, body)
	}
	resp, body = adminReq(t, g, "POST", "http://"+admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge","ttl":"1h"}`)
	var out map[string]string
	if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(out["link"], "/verify/enrol?t=") {
		t.Fatalf("enrol_link after Start: %d %s", resp.StatusCode, body)
	}
	// The portal saw the two logins that passed, nothing from the window.
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("the portal saw %d requests, want 1 (the clean login)", n)
	}
}

// TestRequestWaitsForAStartWithinStartWait: a login that arrives while
// Start is held, and Start finishes within start_wait, is served normally.
func TestRequestWaitsForAStartWithinStartWait(t *testing.T) {
	g, upstream, _, release := heldStart(t, "10s")
	host := map[string]string{"Host": strings.Replace(g.URL, "127.0.0.1", "localhost", 1)[len("http://"):]}
	c := newStepClient(t, g, "198.51.100.9")
	go func() {
		// The login below is sent at once; Start finishes while it waits.
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || c.cookie("login_guard") == "" {
		t.Fatalf("login that waited for Start: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("the portal saw %d logins", n)
	}
}
