//go:build browser

package caddymodule_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/login-guard/login_guard/internal/stepup"
	testbrowser "github.com/login-guard/login_guard/internal/testkit/browser"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// TestBrowserStepUpOnAnotherHost: in Chromium, a challenged login on
// app.example.test confirmed on auth.example.test (step_up_hosts,
// step_up_cookie_domain) comes back to the login's host and lands on the
// portal's account page. The completion form posts to the step-up host,
// which answers 307 to the login's host: browsers check that redirect
// against the page's form-action, so the step-up page must allow the
// login's origin there.
func TestBrowserStepUpOnAnotherHost(t *testing.T) {
	testbrowser.Require(t)
	portalSrv := startPortal(t)
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	loadCaddyfile(t, strings.Replace(crossHostCaddyfile(dir, port, portalSrv.URL), "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1))
	t.Cleanup(func() { _ = caddy.Stop() })
	app := fmt.Sprintf("https://app.example.test:%d", port)
	auth := fmt.Sprintf("https://auth.example.test:%d", port)
	client := tlsSitesClient(t, port)
	waitForTLS(t, client, app, auth)
	enrolOverHTTP(t, client, fmt.Sprintf("http://127.0.0.1:%d", adminPort), auth, "sandbox-challenge")

	ctx, _ := testbrowser.Start(t, 50*time.Second,
		chromedp.Flag("host-resolver-rules", "MAP *.example.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true), // Caddy's internal CA
	)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "sandbox-challenge"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "sandbox"),
		chromedp.Submit(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("login-guard-start")),
	); err != nil {
		t.Fatalf("challenge: %v\n%s", err, pageStatus(ctx))
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != auth+"/verify" {
		t.Fatalf("the challenge landed on %s", loc)
	}
	// The factor a passed passkey gives, its cookie host-only on the
	// step-up host and naming this state. The ceremony itself is
	// TestBrowserPasskeyStepUp's: Chromium refuses WebAuthn on a page
	// whose certificate it had to ignore.
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{auth + "/verify"}})
		return res.Cookies, err
	})
	if err != nil {
		t.Fatal(err)
	}
	state := ""
	for _, c := range cookies {
		if c.Name == "__Secure-login_guard_stepup" {
			state = c.Value
		}
	}
	ks := testKeyset(t, &caddytest.Guarded{LogPath: filepath.Join(dir, "caddy.log")})
	var st stepup.State
	if err := ks.Open(stepup.PurposeState, state, time.Now(), &st); err != nil {
		t.Fatalf("the step-up host's state cookie: %v", err)
	}
	factor, err := ks.Seal("stepup_factor", map[string]string{"h": st.Handle, "m": "passkey"}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "__Host-login_guard_factor", Value: factor,
			URL: auth + "/", Path: "/", Secure: ptrTo(true), HTTPOnly: ptrTo(true), SameSite: network.CookieSameSiteStrict})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}
	// What the page's script does once the factor passed: submit the
	// completion form.
	done, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(done, chromedp.Evaluate[bool](`document.getElementById("login-guard-complete").submit(), true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(done, chromedp.WaitVisible(chromedp.ID("welcome"))); err != nil {
		t.Fatalf("the completion did not bring the browser back to the login's host: %v\n%s", err, pageStatus(ctx))
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != app+"/account" {
		t.Fatalf("landed on %s", loc)
	}
	if n := portalSrv.count(); n != 1 {
		t.Fatalf("the portal saw %d logins, want 1", n)
	}
}

// ptrTo is &v, for the optional fields of a DevTools call.
func ptrTo[T any](v T) *T { return &v }
