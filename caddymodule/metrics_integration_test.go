package caddymodule_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestMetricsOnCaddysEndpoint scrapes Caddy's metrics handler after a few
// guarded requests: decisions by route/action/reason, SmartID results and
// queue depth, engine latency and breaker state are there, and no label
// carries a user or an IP.
func TestMetricsOnCaddysEndpoint(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid := smartIDServer(t)
	global := smartidGlobal(sid.URL)
	site := fmt.Sprintf(`{{listen}} {
	metrics /metrics
	login_guard /api/login {
		name metered
		event login
		engines sandbox
		deny_ip 203.0.113.0/24
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)
	g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=jlopez-unique-user&password=x")
	sid.Next(t)
	g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=sandbox-deny&password=x")

	// The SmartID report of the first login is counted when its answer
	// arrives, after the fake server saw the request: scrape until it is
	// there (bounded), then check everything.
	var text string
	for range 200 {
		text = scrape(t, g.URL+"/metrics")
		if strings.Contains(text, `caddy_login_guard_smartid_events_total{kind="login",result="sent"}`) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		`caddy_login_guard_decisions_total{action="allow",reason="none",route="metered"} 1`,
		`caddy_login_guard_decisions_total{action="deny",reason="engine_decline",route="metered"} 1`,
		`caddy_login_guard_smartid_events_total{kind="login",result="sent"}`,
		`caddy_login_guard_smartid_queue_depth{queue=`,
		`caddy_login_guard_engine_latency_seconds_count{engine="sandbox"} 2`,
		`caddy_login_guard_engine_breaker_state{engine="sandbox"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, line := range regexp.MustCompile(`(?m)^caddy_login_guard.*$`).FindAllString(text, -1) {
		if strings.Contains(line, "jlopez") || strings.Contains(line, "127.0.0.1") {
			t.Errorf("a metric label carries a user or an IP: %s", line)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestMetricsFollowTheCurrentConfig: after a reload (Caddy gives the new
// config a new registry) the guard's counters carry on from where they
// were and keep moving: SmartID results counted by the shared queue,
// decisions, engine calls; the breaker gauge shows the new config's
// engines only.
func TestMetricsFollowTheCurrentConfig(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid := smartIDServer(t)
	site := fmt.Sprintf(`{{listen}} {
	metrics /metrics
	login_guard /api/login {
		name metered
		event login
		engines sandbox
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	waitFor := func(g *caddytest.Guarded, want string) string {
		t.Helper()
		var text string
		for range 300 {
			if text = scrape(t, g.URL+"/metrics"); strings.Contains(text, want) {
				return text
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("metrics never showed %s:\n%s", want, text)
		return ""
	}
	g := caddytest.Start(t, smartidGlobal(sid.URL), site)
	g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=one&password=x")
	sid.Next(t)
	waitFor(g, `caddy_login_guard_smartid_events_total{kind="login",result="sent"} 1`)

	// Reload: same smartid block (the queue is kept), a new registry.
	g2 := caddytest.Start(t, smartidGlobal(sid.URL), site)
	g2.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=two&password=x")
	sid.Next(t)
	text := waitFor(g2, `caddy_login_guard_smartid_events_total{kind="login",result="sent"} 2`)
	for _, want := range []string{
		`caddy_login_guard_decisions_total{action="allow",reason="none",route="metered"} 2`,
		`caddy_login_guard_engine_latency_seconds_count{engine="sandbox"} 2`,
		`caddy_login_guard_engine_breaker_state{engine="sandbox"} 0`,
		`caddy_login_guard_smartid_queue_depth{queue=`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("after the reload, metrics lack %s", want)
		}
	}
}
