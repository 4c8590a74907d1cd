package caddymodule_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// siteClient talks to every site of one Caddy over TLS on one port, the
// way an attacker's own client does: it sends whatever cookies it is
// given to whichever host it names, which no browser would.
type siteClient struct {
	t      *testing.T
	client *http.Client
}

func newSiteClient(t *testing.T, port int) *siteClient {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &siteClient{t: t, client: &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // Caddy's internal CA
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// waitTLS waits for Caddy to have issued each site's certificate.
func (c *siteClient) waitTLS(urls ...string) {
	c.t.Helper()
	for _, u := range urls {
		for deadline := time.Now().Add(20 * time.Second); ; {
			resp, err := c.client.Get(u + "/ready")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s never served TLS: %v", u, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (c *siteClient) do(method, u, body string, cookies ...*http.Cookie) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("User-Agent", "Mozilla/5.0 (site test)")
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if strings.HasSuffix(u, "/complete") {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", "null")
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// factorFor stands in for a passed passkey assertion on the state: the
// factor cookie the completion asks for.
func factorFor(t *testing.T, g *caddytest.Guarded, state string) *http.Cookie {
	t.Helper()
	ks := testKeyset(t, g)
	var st stepup.State
	if err := ks.Open(stepup.PurposeState, state, time.Now(), &st); err != nil {
		t.Fatal(err)
	}
	tok, err := ks.Seal("stepup_factor", map[string]string{"h": st.Handle, "m": "passkey"}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: "__Host-login_guard_factor", Value: tok}
}

// wantAuditReason fails unless some audit line, whatever its route,
// gives reason.
func wantAuditReason(t *testing.T, g *caddytest.Guarded, reason string) {
	t.Helper()
	var seen []any
	for _, l := range g.AuditLines(t) {
		for _, r := range asSlice(l["reasons"]) {
			if r == reason {
				return
			}
		}
		seen = append(seen, l["reasons"])
	}
	t.Fatalf("no audit line gives %s: %v", reason, seen)
}

func setCookie(resp *http.Response, name string) string {
	for _, ck := range resp.Cookies() {
		if ck.Name == name && ck.MaxAge >= 0 {
			return ck.Value
		}
	}
	return ""
}

// TestStepUpStateStaysOnItsSites: a state whose step-up is on another
// host (auth.example.test, under the cookie domain example.test) is
// finished there only, not on the /verify of another site of the same
// Caddy outside that domain, which shares the token keys and may offer
// weaker factors. Such a host was taken for a proxy's rewritten Host and
// its path alone compared.
func TestStepUpStateStaysOnItsSites(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port := ports.Free(t)
	cfg := crossHostCaddyfile(dir, port, upstream.Listener.Addr().String()) + fmt.Sprintf(`https://other.test:%d {
	tls internal
	bind 127.0.0.1
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
		}
	}
}
`, port)
	loadCaddyfile(t, cfg)
	t.Cleanup(func() { _ = caddy.Stop() })
	g := &caddytest.Guarded{LogPath: filepath.Join(dir, "caddy.log")}
	c := newSiteClient(t, port)
	app := fmt.Sprintf("https://app.example.test:%d", port)
	auth := fmt.Sprintf("https://auth.example.test:%d", port)
	other := fmt.Sprintf("https://other.test:%d", port)
	c.waitTLS(app, auth, other)

	resp := c.do("POST", app+"/api/login", challengedForm)
	state := setCookie(resp, "__Secure-login_guard_stepup")
	if resp.StatusCode != http.StatusSeeOther || state == "" {
		t.Fatalf("challenge: %d, state cookie %t", resp.StatusCode, state != "")
	}
	cookies := []*http.Cookie{{Name: "__Secure-login_guard_stepup", Value: state}, factorFor(t, g, state)}
	resp = c.do("POST", other+"/verify/complete", "", cookies...)
	if resp.StatusCode != http.StatusForbidden || setCookie(resp, "__Secure-login_guard_continue") != "" {
		t.Fatalf("finished on another site: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantAuditReason(t, g, "step_up_host_mismatch")
	// Refused, not spent: the step-up host still finishes it.
	resp = c.do("POST", auth+"/verify/complete", "", cookies...)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app+"/api/login" {
		t.Fatalf("complete on the step-up host: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// twoSitesCaddyfile: two sites of one Caddy over TLS, each with its own
// step-up route; the login is on a.example.test.
func twoSitesCaddyfile(dir string, port int, upstream string) string {
	return tlsSitesGlobal(dir, port, "a.example.test", "b.example.test") + fmt.Sprintf(`
https://a.example.test:%[1]d {
	tls internal
	bind 127.0.0.1
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
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
		}
	}
	reverse_proxy %[2]s
}
https://b.example.test:%[1]d {
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

func startTwoSites(t *testing.T) (c *siteClient, g *caddytest.Guarded, a, b string) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port := ports.Free(t)
	loadCaddyfile(t, twoSitesCaddyfile(dir, port, upstream.Listener.Addr().String()))
	t.Cleanup(func() { _ = caddy.Stop() })
	c = newSiteClient(t, port)
	a, b = fmt.Sprintf("https://a.example.test:%d", port), fmt.Sprintf("https://b.example.test:%d", port)
	c.waitTLS(a, b)
	return c, &caddytest.Guarded{LogPath: filepath.Join(dir, "caddy.log")}, a, b
}

// TestPlantedStateCookieIgnored: a step-up state cookie counts only under
// the name the guard would have set it and only when it opens for this
// client. A sibling host under the site's domain can set
// __Secure-login_guard_stepup (Domain=example.test) but not a __Host-
// cookie: what it plants neither stops a signed-in user from enrolling a
// passkey nor stands for a state. The user's own pending step-up still
// vetoes enrolment.
func TestPlantedStateCookieIgnored(t *testing.T) {
	c, g, a, _ := startTwoSites(t)
	resp := c.do("POST", a+"/api/login", "username=alice&password="+password)
	session := setCookie(resp, "__Host-login_guard")
	if resp.StatusCode != http.StatusSeeOther || session == "" {
		t.Fatalf("clean login: %d", resp.StatusCode)
	}
	signedIn := &http.Cookie{Name: "__Host-login_guard", Value: session}
	// A state the guard issued, for this very client, but to a login
	// whose step-up is on the site (no shared domain): planted under the
	// shared-domain name.
	resp = c.do("POST", a+"/api/login", challengedForm)
	state := setCookie(resp, "__Host-login_guard_stepup")
	if resp.StatusCode != http.StatusSeeOther || state == "" {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	for _, planted := range []string{"garbage", state} {
		resp = c.do("GET", a+"/verify/enrol", "", signedIn, &http.Cookie{Name: "__Secure-login_guard_stepup", Value: planted})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("enrol page with a planted %.8s… state: %d", planted, resp.StatusCode)
		}
	}
	resp = c.do("GET", a+"/verify/enrol", "", signedIn, &http.Cookie{Name: "__Host-login_guard_stepup", Value: "garbage"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enrol page with a garbage state cookie: %d", resp.StatusCode)
	}
	resp = c.do("GET", a+"/verify/enrol", "", signedIn, &http.Cookie{Name: "__Host-login_guard_stepup", Value: state})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrol page during the client's own step-up: %d", resp.StatusCode)
	}
	resp = c.do("GET", a+"/verify", "", &http.Cookie{Name: "__Secure-login_guard_stepup", Value: state})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("step-up page on a planted state: %d", resp.StatusCode)
	}
	wantAuditReason(t, g, "step_up_cookie_domain_mismatch")
}
