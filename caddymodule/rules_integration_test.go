package caddymodule_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/portalfake"
)

// rulesPortal is the portal with a password-reset page: every other path
// is a login (303 to /account with a session cookie
// for the right password, 303 back to the form otherwise); /reset (an
// event none route) just answers 200.
func rulesPortal() func(w http.ResponseWriter, r *http.Request, body []byte) {
	portal := portalfake.Handler(password, portalfake.AnyPath).Respond
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Path == "/reset" {
			io.WriteString(w, "reset mail sent")
			return
		}
		portal(w, r, body)
	}
}

// trustLoopback lets the tests play clients at many addresses: Caddy takes
// the client IP from X-Forwarded-For when the peer is loopback.
const trustLoopback = "\tservers {\n\t\ttrusted_proxies static 127.0.0.0/8\n\t}\n"

const rulesSite = `{{listen}} {
	login_guard /rate {
		name rate
		event login
		rate ip 3/1h deny
	}
	login_guard /lock {
		name lock
		event login
		success {
			status 303
			location /account
		}
		deny_ip 203.0.113.0/24
		lockout user 3/1h for 1h deny
	}
	login_guard /lockpair {
		name lockpair
		event login
		success {
			status 303
			location /account
		}
		lockout ip_user 3/1h for 1h deny
	}
	login_guard /device {
		name device
		event login
		device missing challenge
	}
	login_guard /when {
		name when
		event login
		when "user_agent.contains(\"sqlmap\") || (\"x-scan\" in headers && headers[\"x-scan\"] == \"1\")" deny scanner
		when "ip_in(ip, \"198.51.100.0/24\") && user == \"admin\"" challenge admin_outside
	}
	login_guard /monitor {
		name monitor
		event login
		rate ip 1/1h deny monitor
		device missing deny monitor
	}
	login_guard /reset {
		name reset
		event none
		rate ip 2/1h deny
	}
	reverse_proxy %s
}`

// attempt is one login as a browser at ip would send it.
type attempt struct {
	path, ip, user, pass, ua string
	device                   bool
	header                   map[string]string
}

func try(t *testing.T, g *caddytest.Guarded, a attempt) (*http.Response, string) {
	t.Helper()
	form := url.Values{"username": {a.user}, "password": {a.pass}}
	if a.device {
		form.Set("smartid_data", "ujOmfzNv5l/1SW+clQ==")
	}
	req, err := http.NewRequest(http.MethodPost, g.URL+a.path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", a.ip)
	if a.ua != "" {
		req.Header.Set("User-Agent", a.ua)
	}
	for k, v := range a.header {
		req.Header.Set(k, v)
	}
	return g.Do(t, req)
}

// oldServerGone waits until only one server holds the listener on addr.
// Right after a reload both configs' servers do for a moment (Caddy's own
// shutdown notes the old one may not have stopped accepting when Load
// returns), and a connection the old one takes then can be closed
// unanswered: a POST, which is not retried, would fail with EOF.
func oldServerGone(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		switch n := caddy.ListenerUsage("tcp", addr); {
		case n == 1:
			return
		case n == 0:
			t.Fatalf("no listener on %s in Caddy's pool", addr)
		case time.Now().After(deadline):
			t.Fatalf("%d servers still hold %s", n, addr)
		}
	}
}

func startRules(t *testing.T) (*caddytest.Guarded, *caddytest.Recorder) {
	t.Helper()
	upstream := caddytest.NewRecorder(t, rulesPortal())
	return caddytest.Start(t, trustLoopback, fmt.Sprintf(rulesSite, upstream.Listener.Addr())), upstream
}

// wantStatus checks one answer and whether the upstream saw the request.
func wantStatus(t *testing.T, step string, resp *http.Response, status int, upstream *caddytest.Recorder, before int, reached bool) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d", step, resp.StatusCode, status)
	}
	got := len(upstream.All()) - before
	if reached && got != 1 || !reached && got != 0 {
		t.Fatalf("%s: upstream got %d requests, want reached=%v", step, got, reached)
	}
}

func lastAudit(t *testing.T, g *caddytest.Guarded) map[string]any {
	t.Helper()
	lines := g.AuditLines(t)
	if len(lines) == 0 {
		t.Fatal("no audit line")
	}
	return lines[len(lines)-1]
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestRateLimitIsExact: N requests pass, the N+1th gets 429 with a
// Retry-After no longer than the window, and another address is not
// affected.
func TestRateLimitIsExact(t *testing.T) {
	g, up := startRules(t)
	a := attempt{path: "/rate", ip: "198.51.100.1", user: "jlopez", pass: "wrong"}
	for i := range 3 {
		n := len(up.All())
		resp, _ := try(t, g, a)
		wantStatus(t, fmt.Sprintf("attempt %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	n := len(up.All())
	resp, _ := try(t, g, a)
	wantStatus(t, "attempt 4", resp, http.StatusTooManyRequests, up, n, false)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q, want 1..3600 seconds", resp.Header.Get("Retry-After"))
	}
	if l := lastAudit(t, g); l["action"] != "deny" || !slices.Contains(strs(l["reasons"]), "rate_ip") {
		t.Fatalf("audit line %v", l)
	}
	n = len(up.All())
	resp, _ = try(t, g, attempt{path: "/rate", ip: "198.51.100.2", user: "jlopez", pass: "wrong"})
	wantStatus(t, "other address", resp, http.StatusSeeOther, up, n, true)
}

// TestLockoutCountsFailuresFromTheUpstream: the upstream's answer decides
// what a failure is; N failures lock the user (however the name is
// spelt), the lock's deny is the same 403 as any other deny, and a
// user-keyed lock also shuts the victim out from elsewhere (the trade-off
// docs/rules.md describes).
func TestLockoutCountsFailuresFromTheUpstream(t *testing.T) {
	g, up := startRules(t)
	for i, name := range []string{"victim", "Victim ", "VICTIM"} {
		n := len(up.All())
		resp, _ := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: name, pass: "wrong"})
		wantStatus(t, fmt.Sprintf("failure %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	n := len(up.All())
	resp, lockedBody := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: "victim", pass: password})
	wantStatus(t, "right password while locked", resp, http.StatusForbidden, up, n, false)
	if resp.Header.Get("Retry-After") != "" {
		t.Fatal("a lockout must not say when it ends")
	}
	if l := lastAudit(t, g); !slices.Contains(strs(l["reasons"]), "lockout_user") {
		t.Fatalf("audit line %v", l)
	}
	lockedType := resp.Header.Get("Content-Type")
	resp, deniedBody := try(t, g, attempt{path: "/lock", ip: "203.0.113.9", user: "someone", pass: password})
	if resp.StatusCode != http.StatusForbidden || deniedBody != lockedBody || resp.Header.Get("Content-Type") != lockedType {
		t.Fatalf("a lockout must look like any deny: %d %q vs %q", resp.StatusCode, deniedBody, lockedBody)
	}
	n = len(up.All())
	resp, _ = try(t, g, attempt{path: "/lock", ip: "192.0.2.50", user: "victim", pass: password})
	wantStatus(t, "victim from elsewhere (user key)", resp, http.StatusForbidden, up, n, false)
}

// TestLockoutFoldsWhatACollationMerges: a portal on MySQL's default
// collation finds one account under "Spelling", "spëlling" and
// "spel\u200bling"; the guard counts them as one user, or each spelling
// would be a fresh set of guesses.
func TestLockoutFoldsWhatACollationMerges(t *testing.T) {
	g, up := startRules(t)
	for i, name := range []string{"spëlling", "SPEL\u200bLING", "spe\u0300lli\u0301ng\u00ad"} {
		n := len(up.All())
		resp, _ := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: name, pass: "wrong"})
		wantStatus(t, fmt.Sprintf("failure %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	n := len(up.All())
	resp, _ := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: "spelling", pass: password})
	wantStatus(t, "plain spelling after three failures", resp, http.StatusForbidden, up, n, false)
}

// TestLockoutSuccessResets: a success forgets the user's failures.
func TestLockoutSuccessResets(t *testing.T) {
	g, up := startRules(t)
	steps := []string{"wrong", "wrong", password, "wrong", "wrong", "wrong"}
	for i, pw := range steps {
		n := len(up.All())
		resp, _ := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: "resetme", pass: pw})
		wantStatus(t, fmt.Sprintf("step %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	n := len(up.All())
	resp, _ := try(t, g, attempt{path: "/lock", ip: "198.51.100.1", user: "resetme", pass: password})
	wantStatus(t, "after three failures since the success", resp, http.StatusForbidden, up, n, false)
}

// TestLockoutIPUserSparesTheVictim: an attacker at one address locks only
// their own pair; the real user elsewhere still logs in.
func TestLockoutIPUserSparesTheVictim(t *testing.T) {
	g, up := startRules(t)
	attacker := attempt{path: "/lockpair", ip: "198.51.100.66", user: "victim", pass: "guess"}
	for i := range 3 {
		n := len(up.All())
		resp, _ := try(t, g, attacker)
		wantStatus(t, fmt.Sprintf("guess %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	n := len(up.All())
	resp, _ := try(t, g, attacker)
	wantStatus(t, "attacker locked", resp, http.StatusForbidden, up, n, false)
	n = len(up.All())
	resp, _ = try(t, g, attempt{path: "/lockpair", ip: "192.0.2.10", user: "victim", pass: password})
	wantStatus(t, "victim elsewhere", resp, http.StatusSeeOther, up, n, true)
	if resp.Header.Get("Location") != "/account" {
		t.Fatalf("victim not logged in: %q", resp.Header.Get("Location"))
	}
}

// TestDeviceMissingChallenges: no SmartID payload means a challenge,
// which without step_up is a plain 401.
func TestDeviceMissingChallenges(t *testing.T) {
	g, up := startRules(t)
	n := len(up.All())
	resp, _ := try(t, g, attempt{path: "/device", ip: "198.51.100.1", user: "jlopez", pass: password})
	wantStatus(t, "no payload", resp, http.StatusUnauthorized, up, n, false)
	if l := lastAudit(t, g); l["action"] != "challenge" || !slices.Contains(strs(l["reasons"]), "device_missing") {
		t.Fatalf("audit line %v", l)
	}
	n = len(up.All())
	resp, _ = try(t, g, attempt{path: "/device", ip: "198.51.100.1", user: "jlopez", pass: password, device: true})
	wantStatus(t, "with payload", resp, http.StatusSeeOther, up, n, true)
}

// TestWhenExpressions: CEL rules over the user agent, headers, the
// address and the user.
func TestWhenExpressions(t *testing.T) {
	g, up := startRules(t)
	cases := []struct {
		name   string
		a      attempt
		status int
		reason string
	}{
		{"scanner agent", attempt{ua: "sqlmap/1.7", ip: "192.0.2.1", user: "a"}, http.StatusForbidden, "scanner"},
		{"scan header", attempt{header: map[string]string{"X-Scan": "1"}, ip: "192.0.2.1", user: "a"}, http.StatusForbidden, "scanner"},
		{"admin from outside", attempt{ip: "198.51.100.4", user: "Admin"}, http.StatusUnauthorized, "admin_outside"},
		{"admin from inside", attempt{ip: "192.0.2.4", user: "admin"}, http.StatusSeeOther, ""},
		{"ordinary", attempt{ip: "198.51.100.4", user: "jlopez"}, http.StatusSeeOther, ""},
	}
	for _, c := range cases {
		c.a.path, c.a.pass = "/when", password
		n := len(up.All())
		resp, _ := try(t, g, c.a)
		wantStatus(t, c.name, resp, c.status, up, n, c.status == http.StatusSeeOther)
		l := lastAudit(t, g)
		if c.reason != "" && !slices.Contains(strs(l["reasons"]), c.reason) {
			t.Fatalf("%s: audit line %v", c.name, l)
		}
		if slices.Contains(strs(l["reasons"]), "rule_error") {
			t.Fatalf("%s: an expression failed: %v", c.name, l)
		}
	}
}

// TestMonitorRulesOnlyLog: monitor rules let everything through and name
// themselves in the audit line.
func TestMonitorRulesOnlyLog(t *testing.T) {
	g, up := startRules(t)
	for i := range 3 {
		n := len(up.All())
		resp, _ := try(t, g, attempt{path: "/monitor", ip: "198.51.100.1", user: "jlopez", pass: password})
		wantStatus(t, fmt.Sprintf("request %d", i+1), resp, http.StatusSeeOther, up, n, true)
	}
	l := lastAudit(t, g)
	if l["action"] != "allow" || !slices.Contains(strs(l["monitored"]), "rate_ip") || !slices.Contains(strs(l["monitored"]), "device_missing") {
		t.Fatalf("audit line %v", l)
	}
}

// TestEventNoneRouteGetsRulesOnly: a password-reset route is rate limited
// and never reported to SmartID.
func TestEventNoneRouteGetsRulesOnly(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	sid := smartIDServer(t)
	g := caddytest.Start(t, trustLoopback+smartidGlobal(sid.URL), fmt.Sprintf(rulesSite, up.Listener.Addr()))
	for i := range 2 {
		n := len(up.All())
		resp, body := try(t, g, attempt{path: "/reset", ip: "198.51.100.1", user: "jlopez"})
		wantStatus(t, fmt.Sprintf("reset %d", i+1), resp, http.StatusOK, up, n, true)
		if body != "reset mail sent" {
			t.Fatalf("body %q", body)
		}
	}
	n := len(up.All())
	resp, _ := try(t, g, attempt{path: "/reset", ip: "198.51.100.1", user: "jlopez"})
	wantStatus(t, "reset 3", resp, http.StatusTooManyRequests, up, n, false)
	// SmartID events leave in order through one worker: the first to
	// arrive must be this login, not anything from the reset route.
	try(t, g, attempt{path: "/rate", ip: "198.51.100.9", user: "jlopez", pass: password})
	if r := sid.Next(t); r.Path != "/api/v5/analytics/web/login" {
		t.Fatalf("SmartID got %s first", r.Path)
	}
	if len(sid.All()) != 1 {
		t.Fatalf("SmartID got %d events", len(sid.All()))
	}
}

// TestCountersSurviveReload: a reload that keeps a route's rule keeps its
// counts; changing the rule (or the store) starts afresh.
func TestCountersSurviveReload(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	site := func(limit int, extra string) string {
		return fmt.Sprintf("{{listen}} {\n\tlogin_guard /rate {\n\t\tname rate\n\t\tevent login\n\t\trate ip %d/1h deny\n\t}\n\trespond /extra %q\n\treverse_proxy %s\n}", limit, extra, up.Listener.Addr())
	}
	g := caddytest.Start(t, trustLoopback, site(3, "one"))
	// A reload closes the old server's idle connections.
	g.Client.Transport = &http.Transport{DisableKeepAlives: true}
	a := attempt{path: "/rate", ip: "198.51.100.1", user: "jlopez", pass: "x"}
	for i := range 3 {
		if resp, _ := try(t, g, a); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	// reload loads the new config and waits until it answers: a
	// connection the old server accepted while shutting down may be
	// closed unanswered, which only an idempotent GET may retry.
	reload := func(global, s, extra string) {
		t.Helper()
		port := strings.TrimPrefix(g.URL, "http://127.0.0.1:")
		cfg := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n%s}\n%s\n", t.TempDir(), global, strings.ReplaceAll(s, "{{listen}}", "http://127.0.0.1:"+port))
		if err := caddy.Load(caddytest.Adapt(t, cfg), true); err != nil {
			t.Fatal(err)
		}
		var last string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			resp, err := g.Client.Get(g.URL + "/extra")
			if err != nil {
				last = err.Error()
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if last = string(b); last == extra {
				oldServerGone(t, ":"+port)
				return
			}
		}
		t.Fatalf("reload not applied: /extra says %q, want %q", last, extra)
	}
	reload(trustLoopback, site(3, "two"), "two")
	if resp, _ := try(t, g, a); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after a reload keeping the rule: %d, want 429", resp.StatusCode)
	}
	reload(trustLoopback, site(4, "three"), "three")
	for i := range 4 {
		if resp, _ := try(t, g, a); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after changing the rule, attempt %d: %d, want a fresh counter", i+1, resp.StatusCode)
		}
	}
	reload(trustLoopback, site(4, "four"), "four")
	if resp, _ := try(t, g, a); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the changed rule's counter must survive the next reload")
	}
	reload(trustLoopback+"\tlogin_guard {\n\t\trules_store {\n\t\t\tmax_keys 5000\n\t\t}\n\t}\n", site(4, "five"), "five")
	if resp, _ := try(t, g, a); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a new store starts empty: %d", resp.StatusCode)
	}
}
