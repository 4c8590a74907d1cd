//go:build browser

package caddymodule_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/login-guard/login_guard/examples/portal"
	testbrowser "github.com/login-guard/login_guard/internal/testkit/browser"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// countingPortal is the example portal on loopback, counting the login
// POSTs it receives.
type countingPortal struct {
	URL    string
	mu     sync.Mutex
	logins []string // bodies
}

func startPortal(t *testing.T) *countingPortal {
	t.Helper()
	p := &countingPortal{}
	app := portal.New().Handler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/login" {
			_ = r.ParseForm()
			p.mu.Lock()
			p.logins = append(p.logins, r.PostForm.Encode())
			p.mu.Unlock()
		}
		app.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = ln.Addr().String()
	return p
}

func (p *countingPortal) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.logins)
}

// TestBrowserPasskeyStepUp runs the whole flow in headless Chromium with
// Chrome's virtual authenticator: a clean login enrols a passkey, then a
// challenged login (before the upstream, then after it) is finished with
// the passkey and lands on the portal's account page without the
// password being typed again.
func TestBrowserPasskeyStepUp(t *testing.T) {
	testbrowser.Require(t)
	portalSrv := startPortal(t)
	dir := t.TempDir()
	port := ports.Free(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	const user, pass = "sandbox-challenge", "sandbox"

	// Phase 1: no engine on the login route, so the login is clean and
	// may enrol a passkey.
	loadCaddyfile(t, browserCaddyfile(dir, port, portalSrv.URL, ""))
	t.Cleanup(func() { _ = caddy.Stop() })

	ctx, authID := testbrowser.Start(t, 50*time.Second)

	// login types the password once, on the portal's own form.
	login := chromedp.Steps(
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass),
		chromedp.Submit(chromedp.ID("login")),
	)
	// enrol signs in (cleanly) and registers a passkey on the enrol page,
	// up to its confirmation.
	enrol := chromedp.Steps(
		login,
		chromedp.WaitVisible(chromedp.ID("welcome")),
		chromedp.Navigate(base+"/verify/enrol"),
		chromedp.WaitVisible(chromedp.ID("login-guard-start")),
		chromedp.Click(chromedp.ID("login-guard-start")),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Passkey registered")]`)),
	)
	if err := chromedp.Do(ctx,
		enrol,
		// On from the confirmation to enrol_done: the account.
		chromedp.Click(chromedp.CSS(`a.button`)),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	); err != nil {
		t.Fatalf("enrolment: %v\n%s", err, pageStatus(ctx))
	}
	creds, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.GetCredentialsResult, error) {
		return cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authID})
	})
	if err != nil || len(creds.Credentials) != 1 || creds.Credentials[0].RpID != "localhost" || strings.Contains(string(creds.Credentials[0].UserHandle), user) {
		t.Fatalf("authenticator credentials (%v): %+v", err, creds.Credentials)
	}

	// A second passkey, on another authenticator: the account has one, so
	// the enrol page's script first asks for it (the first authenticator
	// answers), then registers the new one.
	second, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.AddVirtualAuthenticatorResult, error) {
		return cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportUsb,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		})
	})
	if err != nil {
		t.Fatalf("second virtual authenticator: %v", err)
	}
	if err := chromedp.Do(ctx, enrol); err != nil {
		t.Fatalf("second enrolment: %v\n%s", err, pageStatus(ctx))
	}
	for _, a := range []webauthn.AuthenticatorID{authID, second.AuthenticatorID} {
		creds, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.GetCredentialsResult, error) {
			return cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a})
		})
		if err != nil || len(creds.Credentials) != 1 {
			t.Fatalf("authenticator %s after the second enrolment (%v): %+v", a, err, creds.Credentials)
		}
	}

	for _, phase := range []struct {
		name  string
		opts  string
		asked int // logins the portal saw before the step-up
	}{
		{"before upstream", "\t\tengines sandbox\n\t\tstep_up /verify", 0},
		{"after upstream", "\t\tengines sandbox\n\t\tevaluate after_upstream\n\t\tstep_up /verify", 1},
	} {
		loadCaddyfile(t, browserCaddyfile(dir, port, portalSrv.URL, phase.opts))
		before := portalSrv.count()
		if err := chromedp.Do(ctx, login, chromedp.WaitVisible(chromedp.ID("login-guard-start"))); err != nil {
			t.Fatalf("%s: challenge: %v\n%s", phase.name, err, pageStatus(ctx))
		}
		if location, err := chromedp.Run(ctx, chromedp.Location()); err != nil || location != base+"/verify" {
			t.Fatalf("%s: challenged login landed on %s (%v)", phase.name, location, err)
		}
		if asked := portalSrv.count() - before; asked != phase.asked {
			t.Fatalf("%s: the portal saw %d logins before the step-up, want %d", phase.name, asked, phase.asked)
		}
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("login-guard-start")),
			chromedp.WaitVisible(chromedp.ID("welcome")),
		); err != nil {
			t.Fatalf("%s: step-up: %v\n%s", phase.name, err, pageStatus(ctx))
		}
		welcome, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("welcome")))
		location, _ := chromedp.Run(ctx, chromedp.Location())
		if location != base+"/account" || welcome != "Welcome, "+user {
			t.Fatalf("%s: landed on %s with %q", phase.name, location, welcome)
		}
		if n := portalSrv.count() - before; n != 1 {
			t.Fatalf("%s: the portal saw %d logins, want exactly 1", phase.name, n)
		}
		portalSrv.mu.Lock()
		last := portalSrv.logins[len(portalSrv.logins)-1]
		portalSrv.mu.Unlock()
		if !strings.Contains(last, "password="+pass) || !strings.Contains(last, "username="+user) {
			t.Fatalf("%s: the portal got %q", phase.name, last)
		}
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "caddy.log"))
	for _, want := range []string{"passkey_enrolled", "passkey_enrol_needs_passkey", "passkey_confirm_ok", "passkey_ok", "step_up_completed", "step_up_passed"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(string(logs), "password="+pass) {
		t.Error("the password reached the log")
	}
}

// pageStatus describes where the browser is, for a failure message.
func pageStatus(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(c, chromedp.Location())
	if err != nil {
		return "page unavailable: " + err.Error()
	}
	text, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("body")))
	return "at " + loc + ": " + text
}
