package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/enginefake"
	"github.com/login-guard/login_guard/upstreamsig"
)

// scoringFake is an in-house scoring service (internal/testkit/enginefake):
// it answers by the user in the attempt, the way a test double of a real
// service would, and checks every request against the engine's schema and
// the configured Authorization header.
func scoringFake(t *testing.T) *enginefake.Server {
	return enginefake.New(t, http.Header{"Authorization": {"Bearer risk-token"}})
}

func enginesGlobal(scoringURL, refusedURL string) string {
	return fmt.Sprintf(`	login_guard {
		http scoring {
			url %s
			header Authorization "Bearer risk-token"
		}
		http down {
			url %s
		}
		sandbox
		breaker {
			failures 5
			cool_down 1h
		}
	}`, scoringURL, refusedURL)
}

const enginesSite = `{{listen}} {
	login_guard /fail-allow {
		event login
		engines scoring
		deadline 300ms
	}
	login_guard /fail-challenge {
		event login
		engines scoring
		deadline 300ms
		on_engine_failure challenge
	}
	login_guard /fail-deny {
		event login
		engines scoring
		deadline 300ms
		on_engine_failure deny
	}
	login_guard /monitor {
		event login
		engines scoring
		mode monitor
	}
	login_guard /sandbox {
		event login
		engines sandbox scoring
		deadline 300ms
	}
	login_guard /after {
		event login
		engines scoring
		evaluate after_upstream
		success {
			cookie portal_session
		}
	}
	login_guard /down {
		event login
		engines down
		on_engine_failure deny
	}
	reverse_proxy %s
}`

// refusedURL is an address where nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/score"
}

func TestEnginesDecideAndFailurePolicy(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		http.SetCookie(w, &http.Cookie{Name: "portal_session", Value: "APP-SECRET-SESSION"})
		w.Header().Set("X-Portal", "yes")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "welcome")
	})
	scoring := scoringFake(t)
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), fmt.Sprintf(enginesSite, upstream.Listener.Addr()))
	form := "application/x-www-form-urlencoded"
	login := func(path, user string) (*http.Response, string) {
		return g.Post(t, path, form, "username="+user+"&password="+password)
	}

	cases := []struct {
		path, user string
		status     int
		reason     string
	}{
		{"/fail-allow", "alice", 200, ""},
		{"/fail-allow", "risky", 403, "velocity"},
		{"/fail-allow", "odd", 401, "new_device"},
		{"/fail-allow", "slow", 200, "engine_unavailable"},
		{"/fail-challenge", "broken", 401, "engine_unavailable"},
		{"/fail-deny", "garbage", 403, "engine_unavailable"},
		{"/fail-deny", "weird", 403, "engine_unavailable"},
		{"/monitor", "risky", 200, "velocity"},
		{"/sandbox", "sandbox-deny", 403, "engine_decline"},
		{"/sandbox", "sandbox-challenge", 401, "engine_challenge"},
		{"/sandbox", "sandbox-slow", 200, "engine_unavailable"},
	}
	for _, c := range cases {
		resp, _ := login(c.path, c.user)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.path, c.user, resp.StatusCode, c.status)
		}
	}
	lines := g.AuditLines(t)
	if len(lines) != len(cases) {
		t.Fatalf("%d audit lines for %d requests", len(lines), len(cases))
	}
	for i, c := range cases {
		l := lines[i]
		got := fmt.Sprint(l["reasons"], l["monitored"])
		if c.reason != "" && !strings.Contains(got, c.reason) {
			t.Errorf("%s %s: reasons %s, want %s", c.path, c.user, got, c.reason)
		}
		if l["engines"] == nil {
			t.Errorf("%s %s: audit line lacks the engines", c.path, c.user)
		}
	}
	if lines[7]["monitor_action"] != "deny" || lines[7]["action"] != "allow" {
		t.Errorf("monitor mode must log what it would do and pass: %v", lines[7])
	}
	if lines[1]["score"] != float64(91) {
		t.Errorf("the engine's score belongs in the audit line: %v", lines[1])
	}
	// The scoring service got the documented schema and the configured
	// header, never the password.
	for _, r := range scoring.All() {
		if r.Header.Get("Authorization") != "Bearer risk-token" || strings.Contains(string(r.Body), password) {
			t.Fatalf("scoring request: %v %s", r.Header, r.Body)
		}
	}
}

// TestAfterUpstreamWithholdsTheSession: the portal accepted the password
// and set its session cookie; the engine then denies, and neither the
// cookie nor any other upstream header or byte reaches the browser.
func TestAfterUpstreamWithholdsTheSession(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		http.SetCookie(w, &http.Cookie{Name: "portal_session", Value: "APP-SECRET-SESSION"})
		w.Header().Set("X-Portal", "yes")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "welcome to your account")
	})
	scoring := scoringFake(t)
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), fmt.Sprintf(enginesSite, upstream.Listener.Addr()))
	form := "application/x-www-form-urlencoded"

	resp, body := g.Post(t, "/after", form, "username=risky&password="+password)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 || resp.Header.Get("X-Portal") != "" || strings.Contains(body, "welcome") {
		t.Fatalf("the withheld answer leaked: %v %q", resp.Header, body)
	}
	if len(upstream.All()) != 1 || len(scoring.All()) != 1 {
		t.Fatalf("the portal must have answered once (%d) and the engine been asked once (%d)", len(upstream.All()), len(scoring.All()))
	}
	var attempt map[string]any
	json.Unmarshal(scoring.All()[0].Body, &attempt)
	if attempt["outcome"] != "success" {
		t.Fatalf("the engine is asked after the upstream accepted: %v", attempt)
	}

	// A clean user passes with the portal's cookie and the guard's.
	resp, body = g.Post(t, "/after", form, "username=alice&password="+password)
	if resp.StatusCode != 200 || body != "welcome to your account" || cookieNamed(resp, "portal_session") == nil || cookieNamed(resp, "login_guard") == nil {
		t.Fatalf("allowed login: %d %q %v", resp.StatusCode, body, resp.Cookies())
	}
}

// TestBreakerOpensOnEngineFailures: after five refused connections the
// breaker opens and the policy applies at once, without calling.
func TestBreakerOpensOnEngineFailures(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	scoring := scoringFake(t)
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), fmt.Sprintf(enginesSite, upstream.Listener.Addr()))
	for range 6 {
		resp, _ := g.Post(t, "/down", "application/x-www-form-urlencoded", "username=alice&password=x")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	lines := g.AuditLines(t)
	kinds := []string{}
	for _, l := range lines {
		engines := l["engines"].([]any)
		kinds = append(kinds, engines[0].(map[string]any)["failure"].(string))
	}
	if strings.Join(kinds, ",") != "refused,refused,refused,refused,refused,breaker_open" {
		t.Fatalf("failure kinds %v", kinds)
	}
}

func TestEngineConfigErrors(t *testing.T) {
	cases := []struct{ name, cfg, want string }{
		{"unknown engine", "{\n\tlogin_guard {\n\t\tsandbox\n\t}\n}\n:8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tengines nope\n\t}\n}\n", `engine "nope" is not configured`},
		{"http without name", "{\n\tlogin_guard {\n\t\thttp {\n\t\t\turl http://x\n\t\t}\n\t}\n}\n", "Caddyfile:3: http engine: a name is required"},
		{"http unknown option", "{\n\tlogin_guard {\n\t\thttp s {\n\t\t\turl http://x\n\t\t\tretries 3\n\t\t}\n\t}\n}\n", "Caddyfile:5: http engine: unknown option \"retries\""},
		{"bad failure policy", ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\ton_engine_failure maybe\n\t}\n}\n", "Caddyfile:4: \"maybe\" is not one of allow, challenge, deny"},
		{"bad evaluate", ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tevaluate later\n\t}\n}\n", "Caddyfile:4: \"later\" is not one of before_upstream, after_upstream"},
		{"after on logout", "{\n\tlogin_guard {\n\t\tsandbox\n\t}\n}\n:8080 {\n\tlogin_guard {\n\t\tevent logout\n\t\tengines sandbox\n\t\tevaluate after_upstream\n\t}\n}\n", "only for event login"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := caddytest.ValidateCaddyfile(t, c.cfg)
			checkAdaptErr(t, err, c.want)
		})
	}
}

// TestUpstreamHeadersAreSigned: an allowed request carries the verdict
// headers with an HMAC the portal can check; client-sent copies are gone.
func TestUpstreamHeadersAreSigned(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	scoring := scoringFake(t)
	site := fmt.Sprintf("{{listen}} {\n\tlogin_guard /api/login {\n\t\tevent login\n\t\tengines scoring\n\t\tupstream_headers portal-shared-secret-123\n\t}\n\treverse_proxy %s\n}", upstream.Listener.Addr())
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), site)
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=alice&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Login-Guard-Action", "allow")
	req.Header.Set("X-Login-Guard-Signature", "forged")
	g.Do(t, req)
	got := upstream.All()[0].Header
	if got.Get("X-Login-Guard-Action") != "allow" || got.Get("X-Login-Guard-Score") != "3" || got.Get("X-Login-Guard-Route") != "login" {
		t.Fatalf("verdict headers: %v", got)
	}
	v, err := upstreamsig.Verify(got, []byte("portal-shared-secret-123"), http.MethodPost, "/api/login", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("signature: %v (%v)", err, got)
	}
	if v.User != "alice" || v.Reasons != "" {
		t.Fatalf("verdict %+v", v)
	}
}

// TestEngineAllowedReasons: with allowed_reasons, a reason the scoring
// service words outside the list counts as engine_other in the audit line
// and the signed reasons header; one on the list is kept.
func TestEngineAllowedReasons(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	scoring := scoringFake(t)
	global := fmt.Sprintf(`	login_guard {
		http scoring {
			url %s
			header Authorization "Bearer risk-token"
			allowed_reasons new_device
		}
	}`, scoring.URL)
	g := caddytest.Start(t, global, fmt.Sprintf(`{{listen}} {
	login_guard /login {
		event login
		engines scoring
		mode monitor
	}
	reverse_proxy %s
}`, upstream.Listener.Addr()))
	for _, user := range []string{"risky", "odd"} {
		if resp, _ := g.Post(t, "/login", "application/x-www-form-urlencoded", "username="+user+"&password="+password); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s on a monitor route: %d", user, resp.StatusCode)
		}
	}
	lines := g.AuditLines(t)
	if len(lines) != 2 {
		t.Fatalf("%d audit lines", len(lines))
	}
	if got := fmt.Sprint(lines[0]["monitored"]); !strings.Contains(got, "engine_other") || strings.Contains(got, "velocity") {
		t.Errorf("risky: monitored reasons %s, want engine_other for the unlisted velocity", got)
	}
	if got := fmt.Sprint(lines[1]["monitored"]); !strings.Contains(got, "new_device") {
		t.Errorf("odd: monitored reasons %s, want the listed new_device", got)
	}
	if err := caddytest.ValidateCaddyfile(t, "{\n\tlogin_guard {\n\t\thttp scoring {\n\t\t\turl https://risk.example\n\t\t\tallowed_reasons New-Device\n\t\t}\n\t}\n}\n"); err == nil || !strings.Contains(err.Error(), `allowed reason "New-Device" is not in sanitized form`) || !strings.Contains(err.Error(), "Caddyfile:5") {
		t.Errorf("an unsanitized allowed reason: %v", err)
	}
}
