package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestForwardedForWithoutTrustedProxies: the guard never believes a raw
// X-Forwarded-For, and warns once that clients behind a proxy would share
// one address.
func TestForwardedForWithoutTrustedProxies(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, "", fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t\tdeny_ip 198.51.100.0/24\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr()))
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=a&password=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "198.51.100.9")
		resp, _ := g.Do(t, req)
		if resp.StatusCode == http.StatusForbidden {
			t.Fatal("a client-chosen X-Forwarded-For must not decide the client IP")
		}
	}
	if n := strings.Count(g.RawLogs(t), "X-Forwarded-For but do not come from the server's trusted_proxies"); n != 1 {
		t.Fatalf("want the warning once, got %d", n)
	}
	for _, l := range g.AuditLines(t) {
		if l["ip"] != "127.0.0.1" {
			t.Fatalf("audit ip %v", l["ip"])
		}
	}
}

// TestTrustedProxiesDecideTheClientIP: with trusted_proxies, Caddy's client
// IP (from X-Forwarded-For) is what rules see, and no warning is logged.
func TestTrustedProxiesDecideTheClientIP(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	global := "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}"
	g := caddytest.Start(t, global, fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t\tdeny_ip 198.51.100.0/24\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr()))
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=a&password=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	if resp, _ := g.Do(t, req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d: the trusted proxy's client should be denied", resp.StatusCode)
	}
	if strings.Contains(g.RawLogs(t), "trusted_proxies (is it set?)") {
		t.Fatal("no warning when trusted_proxies is set")
	}
}

// TestLeftmostForwardedForIsTheClientsChoice: behind a proxy that appends
// to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, AWS ALB, Google's
// and Azure's load balancers), the leftmost entry is whatever the client
// sent. Caddy without trusted_proxies_strict takes that one, so an attacker
// gets a fresh address, and fresh per-IP counters, with every request: the
// guard must say so. With trusted_proxies_strict Caddy takes the rightmost
// untrusted entry, the one the proxy wrote, and the limit holds.
func TestLeftmostForwardedForIsTheClientsChoice(t *testing.T) {
	site := func(up *caddytest.Recorder) string {
		return fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t\trate ip 2/1h deny\n\t}\n\treverse_proxy %s\n}", up.Listener.Addr())
	}
	// send plays the appending proxy: the attacker's own header, then the
	// address the proxy saw.
	send := func(g *caddytest.Guarded, i int) int {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=victim&password=guess"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d, 198.51.100.7", i))
		resp, _ := g.Do(t, req)
		return resp.StatusCode
	}
	const warning = "set trusted_proxies_strict"

	g := caddytest.Start(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}", site(caddytest.NewRecorder(t, portalFake())))
	for i := 1; i <= 4; i++ {
		if code := send(g, i); code == http.StatusTooManyRequests {
			t.Fatalf("attempt %d: 429; Caddy's leftmost pick changed, revisit this test and the docs", i)
		}
	}
	if n := strings.Count(g.RawLogs(t), warning); n != 1 {
		t.Fatalf("want one warning naming trusted_proxies_strict, got %d:\n%s", n, g.RawLogs(t))
	}
	_ = caddy.Stop()

	g = caddytest.Start(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t\ttrusted_proxies_strict\n\t}", site(caddytest.NewRecorder(t, portalFake())))
	codes := []int{send(g, 1), send(g, 2), send(g, 3)}
	if codes[2] != http.StatusTooManyRequests {
		t.Fatalf("strict: answers %v, want the third refused (one client, 198.51.100.7)", codes)
	}
	if strings.Contains(g.RawLogs(t), warning) {
		t.Fatal("strict: no warning")
	}
}
