package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// startCaddyWithAdmin is startCaddy with Caddy's admin API on a free
// loopback port; it returns the guarded site and the admin base URL.
func startCaddyWithAdmin(t *testing.T, global, site string) (*caddytest.Guarded, string) {
	t.Helper()
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	logPath := filepath.Join(dir, "caddy.log")
	cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	storage file_system %s
	log {
		output file %s
		format json
	}
%s
}
%s
`, adminPort, filepath.Join(dir, "storage"), logPath, global, strings.ReplaceAll(site, "{{listen}}", fmt.Sprintf("http://127.0.0.1:%d", port)))
	if err := caddy.Load(caddytest.Adapt(t, cfg), true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return &caddytest.Guarded{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		LogPath: logPath,
		Client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, fmt.Sprintf("http://127.0.0.1:%d", adminPort)
}

// adminCall sends one admin request and decodes its JSON answer into out.
func adminCall(t *testing.T, method, u, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: content type %q, body %s", method, u, ct, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, b)
		}
	}
	return resp.StatusCode
}

type limitsAnswer struct {
	Entries []struct {
		Route       string     `json:"route"`
		Rule        string     `json:"rule"`
		Kind        string     `json:"kind"`
		Subject     string     `json:"subject"`
		Count       int        `json:"count"`
		Limit       int        `json:"limit"`
		Limited     bool       `json:"limited"`
		LockedUntil *time.Time `json:"locked_until"`
	} `json:"entries"`
	Truncated bool `json:"truncated"`
}

// TestAdminListsAndClearsLimits: a support desk lists the lockouts and
// limited keys through Caddy's admin API and lifts one.
func TestAdminListsAndClearsLimits(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	g, admin := startCaddyWithAdmin(t, trustLoopback, fmt.Sprintf(rulesSite, up.Listener.Addr()))

	var routes []struct {
		Route string   `json:"route"`
		Rules []string `json:"rules"`
	}
	if st := adminCall(t, http.MethodGet, admin+"/login_guard/routes", "", &routes); st != http.StatusOK || len(routes) != 7 {
		t.Fatalf("routes: %d %+v", st, routes)
	}
	if routes[1].Route != "lock" || routes[1].Rules[0] != "lockout user 3/1h for 1h deny" {
		t.Fatalf("routes %+v", routes)
	}

	// Lock victim out on /lockpair from one address, and limit another
	// address on /rate.
	for range 3 {
		try(t, g, attempt{path: "/lockpair", ip: "198.51.100.66", user: "Victim", pass: "guess"})
	}
	for range 4 {
		try(t, g, attempt{path: "/rate", ip: "198.51.100.77", user: "x", pass: "y"})
	}
	try(t, g, attempt{path: "/rate", ip: "198.51.100.78", user: "x", pass: "y"}) // held, not limited

	var lim limitsAnswer
	if st := adminCall(t, http.MethodGet, admin+"/login_guard/limits", "", &lim); st != http.StatusOK {
		t.Fatalf("limits: %d", st)
	}
	if len(lim.Entries) != 2 || lim.Truncated {
		t.Fatalf("want the lockout and the rate limit, got %+v", lim)
	}
	lock := lim.Entries[0]
	if lock.Route != "lockpair" || lock.Kind != "lockout" || lock.Rule != "lockout ip_user 3/1h for 1h" ||
		lock.Subject != "ip=198.51.100.66/32 user=victim" || !lock.Limited || lock.LockedUntil == nil || lock.Limit != 3 {
		t.Fatalf("lockout entry %+v", lock)
	}
	if e := lim.Entries[1]; e.Route != "rate" || e.Subject != "ip=198.51.100.77/32" || e.Count != 3 || e.Limit != 3 {
		t.Fatalf("rate entry %+v", e)
	}
	// all=1 also shows counters below their limit; filters narrow.
	adminCall(t, http.MethodGet, admin+"/login_guard/limits?all=1&route=rate", "", &lim)
	if len(lim.Entries) != 2 {
		t.Fatalf("all counters on rate: %+v", lim)
	}
	adminCall(t, http.MethodGet, admin+"/login_guard/limits?user=VICTIM", "", &lim)
	if len(lim.Entries) != 1 || lim.Entries[0].Route != "lockpair" {
		t.Fatalf("by user: %+v", lim)
	}
	adminCall(t, http.MethodGet, admin+"/login_guard/limits?max=1&all=1", "", &lim)
	if len(lim.Entries) != 1 || !lim.Truncated {
		t.Fatalf("max=1: %+v", lim)
	}

	var apiErr struct {
		Error string `json:"error"`
	}
	if st := adminCall(t, http.MethodGet, admin+"/login_guard/limits?route=nope", "", &apiErr); st != http.StatusNotFound ||
		!strings.Contains(apiErr.Error, `unknown route "nope"`) || !strings.Contains(apiErr.Error, "lockpair") {
		t.Fatalf("unknown route: %d %q", st, apiErr.Error)
	}
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/clear", `{"route":"lockpair"}`, &apiErr); st != http.StatusBadRequest {
		t.Fatalf("clear without user or ip: %d", st)
	}
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/clear", `{"route":"lockpair","usr":"x"}`, &apiErr); st != http.StatusBadRequest {
		t.Fatalf("clear with an unknown field: %d", st)
	}
	if st := adminCall(t, http.MethodPut, admin+"/login_guard/limits", "", &apiErr); st != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", st)
	}

	// Still locked, then lifted by the support desk.
	if resp, _ := try(t, g, attempt{path: "/lockpair", ip: "198.51.100.66", user: "victim", pass: password}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("before the clear: %d", resp.StatusCode)
	}
	var cleared struct {
		Cleared int            `json:"cleared"`
		Routes  map[string]int `json:"routes"`
	}
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/clear", `{"route":"lockpair","user":" victim"}`, &cleared); st != http.StatusOK || cleared.Cleared != 1 || cleared.Routes["lockpair"] != 1 {
		t.Fatalf("clear: %d %+v", st, cleared)
	}
	if resp, _ := try(t, g, attempt{path: "/lockpair", ip: "198.51.100.66", user: "victim", pass: password}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the clear: %d", resp.StatusCode)
	}
	// DELETE by address, on every route.
	if st := adminCall(t, http.MethodDelete, admin+"/login_guard/limits?ip=198.51.100.77", "", &cleared); st != http.StatusOK || cleared.Cleared != 1 || cleared.Routes["rate"] != 1 {
		t.Fatalf("delete: %d %+v", st, cleared)
	}
	if resp, _ := try(t, g, attempt{path: "/rate", ip: "198.51.100.77", user: "x", pass: "y"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the delete: %d", resp.StatusCode)
	}
}

// TestAdminForgetsUnloadedRoutes: after a reload that drops a route, the
// admin API no longer knows it.
func TestAdminForgetsUnloadedRoutes(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	_, admin := startCaddyWithAdmin(t, "", fmt.Sprintf("{{listen}} {\n\tlogin_guard /a {\n\t\tname gone\n\t\tevent login\n\t\trate ip 5/1m\n\t}\n\treverse_proxy %s\n}", up.Listener.Addr()))
	var routes []map[string]any
	adminCall(t, http.MethodGet, admin+"/login_guard/routes", "", &routes)
	if len(routes) != 1 || routes[0]["route"] != "gone" {
		t.Fatalf("routes %v", routes)
	}
	_, admin = startCaddyWithAdmin(t, "", fmt.Sprintf("{{listen}} {\n\tlogin_guard /b {\n\t\tname kept\n\t\tevent login\n\t\trate ip 5/1m\n\t}\n\treverse_proxy %s\n}", up.Listener.Addr()))
	adminCall(t, http.MethodGet, admin+"/login_guard/routes", "", &routes)
	if len(routes) != 1 || routes[0]["route"] != "kept" {
		t.Fatalf("routes after reload %v", routes)
	}
}

// TestAdminAfterFailedReload: a reload that fails to load leaves its
// admin routers installed (Caddy swaps them in before it provisions the
// apps) while the config before it keeps running; the guard's admin API
// answers from the running config instead of 503 until the next good
// reload.
func TestAdminAfterFailedReload(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	site := fmt.Sprintf("{{listen}} {\n\tlogin_guard /a {\n\t\tname live\n\t\tevent login\n\t\trate ip 5/1m\n\t}\n\treverse_proxy %s\n}", up.Listener.Addr())
	_, admin := startCaddyWithAdmin(t, "", site)
	var routes []map[string]any
	if code := adminCall(t, http.MethodGet, admin+"/login_guard/routes", "", &routes); code != http.StatusOK || len(routes) != 1 {
		t.Fatalf("before: %d %v", code, routes)
	}
	// The same admin address; a route whose user field comes from a
	// variable that is not set, so the config fails when it loads.
	t.Setenv("LOGIN_GUARD_TEST_UNSET_FIELD", "")
	failing := caddytest.Adapt(t, fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n}\nhttp://127.0.0.1:%d {\n\tlogin_guard /b {\n\t\tname next\n\t\tevent login\n\t\tuser_field {env.LOGIN_GUARD_TEST_UNSET_FIELD}\n\t}\n\trespond ok\n}\n",
		strings.TrimPrefix(admin, "http://"), ports.Free(t)))
	resp, err := http.Post(admin+"/load", "application/json", bytes.NewReader(failing))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(msg), "user_field") {
		t.Fatalf("the failing config loaded: %d %s", resp.StatusCode, msg)
	}
	routes = nil
	if code := adminCall(t, http.MethodGet, admin+"/login_guard/routes", "", &routes); code != http.StatusOK || len(routes) != 1 || routes[0]["route"] != "live" {
		t.Fatalf("after the failed reload: %d %v, want the running config's route", code, routes)
	}
}

// TestAdminRefusesJunk: every admin endpoint refuses what it would
// otherwise drop or half read, naming it: a misspelt or repeated query
// parameter (a dropped filter would widen a listing, or a clear, to every
// user), data after the JSON body, an `all` that is neither 1 nor 0, a
// user of blanks, a DELETE without the id; a wrong method gets 405 with
// Allow.
func TestAdminRefusesJunk(t *testing.T) {
	up := caddytest.NewRecorder(t, rulesPortal())
	global := trustLoopback + "\tlogin_guard {\n\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n\t}\n"
	_, admin := startCaddyWithAdmin(t, global, fmt.Sprintf(rulesSite, up.Listener.Addr()))
	var apiErr struct {
		Error string `json:"error"`
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/login_guard/limits?usr=jlopez", "", 400, `unknown parameter "usr" (this endpoint takes: route, user, ip, all, max)`},
		{"DELETE", "/login_guard/limits?ip=198.51.100.7&usr=jlopez", "", 400, `unknown parameter "usr" (this endpoint takes: route, user, ip)`},
		{"DELETE", "/login_guard/limits?user=a&user=b", "", 400, `parameter "user" given more than once`},
		{"GET", "/login_guard/limits?all=yes", "", 400, `all must be 1 (every counter held) or 0, not "yes"`},
		{"GET", "/login_guard/routes?route=lock", "", 400, `unknown parameter "route" (this endpoint takes: none)`},
		{"POST", "/login_guard/clear", `{"user":"a"}{"user":"b"}`, 400, "more than one JSON value"},
		{"POST", "/login_guard/clear", `{"user":"a"} x`, 400, "more than one JSON value"},
		{"POST", "/login_guard/clear", `{"user":"` + strings.Repeat("a", 5000) + `"}`, 400, "body over 4096 bytes"},
		{"POST", "/login_guard/passkeys/enrol_link", `{"user":"a","ttl":24}`, 400, "cannot unmarshal number"},
		{"POST", "/login_guard/passkeys/enrol_link", `{"user":"a"} {}`, 400, "more than one JSON value"},
		{"POST", "/login_guard/passkeys/enrol_link", `{"user":"  "}`, 400, "user is required"},
		{"POST", "/login_guard/passkeys/enrol_link", `{"user":"a","base":"verify"}`, 400, "want the step-up route's path, like /verify"},
		{"GET", "/login_guard/passkeys/credentials?user=a&id=x", "", 400, `unknown parameter "id" (this endpoint takes: user)`},
		{"DELETE", "/login_guard/passkeys/credentials?user=a", "", 400, "id is required"},
	} {
		apiErr.Error = ""
		if st := adminCall(t, c.method, admin+c.path, c.body, &apiErr); st != c.status || !strings.Contains(apiErr.Error, c.want) {
			t.Errorf("%s %s %.40s: %d %q, want %d and %q", c.method, c.path, c.body, st, apiErr.Error, c.status, c.want)
		}
	}
	for path, allow := range map[string]string{
		"/login_guard/routes":               "GET",
		"/login_guard/limits":               "GET, DELETE",
		"/login_guard/clear":                "POST",
		"/login_guard/passkeys/enrol_link":  "POST",
		"/login_guard/passkeys/credentials": "GET, DELETE",
	} {
		req, _ := http.NewRequest(http.MethodPatch, admin+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
			t.Errorf("PATCH %s: %d, Allow %q, want 405 and %q", path, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
	}
	// A well-formed link is refused where no step-up route of the config
	// serves its base (this config has none).
	apiErr.Error = ""
	if st := adminCall(t, "POST", admin+"/login_guard/passkeys/enrol_link", `{"user":"jlopez","ttl":"1h"}`, &apiErr); st != 400 || !strings.Contains(apiErr.Error, "no step-up route of the running config serves /verify/enrol") {
		t.Errorf("enrol_link without a step-up route: %d %q", st, apiErr.Error)
	}
	if st := adminCall(t, "GET", admin+"/login_guard/limits?all=1&max=5&user=jlopez", "", nil); st != 200 {
		t.Errorf("limits: %d", st)
	}
}
