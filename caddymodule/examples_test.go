package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/examples/portal"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestExampleCaddyfilesValidate: the demo's Caddyfile and every example
// config adapt and pass `caddy validate`, so the demo commands work.
func TestExampleCaddyfilesValidate(t *testing.T) {
	t.Setenv("SMARTID_ENDPOINT", "https://smartid.example.com")
	t.Setenv("SMARTID_LICENSE", "example-license")
	files := []string{"../Caddyfile"}
	more, _ := filepath.Glob("../examples/*.Caddyfile")
	files = append(files, more...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := caddytest.ValidateCaddyfile(t, string(raw)); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}

// TestDemoPortalBehindTheGuard: the demo's portal (the browser suites'
// app) behind the guard's login and logout routes: a failed login goes
// back to the form, a good one reaches the account page with both
// sessions, and after the logout the account page sends the person back
// to the form.
func TestDemoPortalBehindTheGuard(t *testing.T) {
	app := httptest.NewServer(portal.New().Handler())
	t.Cleanup(app.Close)
	sid := smartIDServer(t)
	g := caddytest.Start(t, smartidGlobal(sid.URL), fmt.Sprintf(coreSite, app.Listener.Addr()))
	form := "application/x-www-form-urlencoded"

	if resp, _ := g.Post(t, "/api/login", form, "username=alice&password=wrong"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?failed=1" {
		t.Fatalf("failed login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ := g.Post(t, "/api/login", form, "username=alice&password="+portal.Users["alice"])
	appSession, guard := cookieNamed(resp, portal.SessionCookie), cookieNamed(resp, "login_guard")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || appSession == nil || guard == nil {
		t.Fatalf("login: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	get := func(path string, cookies ...*http.Cookie) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, g.URL+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return g.Do(t, req)
	}
	if resp, body := get("/account", appSession, guard); resp.StatusCode != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	if resp, body := get("/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	if resp, _ := g.Post(t, "/api/logout", form, "username=alice", appSession, guard); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := get("/account", appSession, guard); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("account page after the logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
