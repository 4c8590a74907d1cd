package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

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
