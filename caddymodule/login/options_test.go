package login

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/request"
	"github.com/login-guard/login_guard/rules/counter"
)

// TestOptionRefusedAtItsLine: an option that does not fit the route's
// event, or that needs another option, is refused by its group at its own
// line, wherever `event` stands in the block.
func TestOptionRefusedAtItsLine(t *testing.T) {
	for _, c := range []struct{ name, block, want string }{
		{"after_upstream on logout, event last", "evaluate after_upstream\n\t\tevent logout",
			"evaluate after_upstream is only for event login, at Caddyfile:3"},
		{"step_up on logout", "event logout\n\t\tstep_up /verify",
			"step_up is for login, operation and none routes, not logout, at Caddyfile:4"},
		{"continuation without step_up", "continuation resubmit\n\t\tevent login",
			"step_up_hosts, step_up_cookie_domain and continuation need step_up, at Caddyfile:3"},
		{"cookie domain without step_up", "event login\n\t\tstep_up_cookie_domain example.com",
			"need step_up, at Caddyfile:4"},
		{"cookie domain on a same-site target", "event login\n\t\tstep_up_cookie_domain example.com\n\t\tstep_up /verify",
			"step_up_cookie_domain is only for a step_up on another host; a same-site target uses a host-only cookie, at Caddyfile:4"},
		{"cookie domain that does not cover the host", "event login\n\t\tstep_up_hosts auth.example.com\n\t\tstep_up https://auth.example.com/verify\n\t\tstep_up_cookie_domain other.example",
			`step_up_cookie_domain "other.example" does not cover the step-up host "auth.example.com", at Caddyfile:6`},
		{"other host without cookie domain", "event login\n\t\tstep_up_hosts auth.example.com\n\t\tstep_up https://auth.example.com/verify",
			"needs step_up_cookie_domain, a parent domain both hosts share, so that host can read the state cookie, at Caddyfile:5"},
		{"unverifiable without assertion", "on_assertion_unverifiable allow\n\t\tevent login",
			"on_assertion_unverifiable needs assertion optional, required or passwordless, at Caddyfile:3"},
		{"missing_user on none", "missing_user allow\n\t\tevent none",
			"login_guard: missing_user needs event login, not none, at Caddyfile:3"},
		{"on_invalid_operation on login", "event login\n\t\ton_invalid_operation pass",
			"login_guard: on_invalid_operation needs event operation, not login, at Caddyfile:4"},
		{"operation step-up without the portal session", "event operation\n\t\tstep_up /verify",
			"step_up on an event operation route needs session_cookie <the portal's session cookie> (the same as on the login route): the step-up asks the guard session's user, who must be the portal session's, at Caddyfile:4"},
		{"operation assertion without the portal session", "assertion optional\n\t\tevent operation",
			"assertion on an event operation route needs session_cookie <the portal's session cookie> (the same as on the login route): the assertion must be the guard session's user's, who must be the portal session's, at Caddyfile:3"},
		{"success block on logout", "event logout\n\t\tsuccess {\n\t\t\tstatus 200\n\t\t}",
			"login_guard: a success block needs event login, not logout, at Caddyfile:4"},
		{"report on an operation", "report success\n\t\tevent operation",
			"login_guard: report needs event login, not operation, at Caddyfile:3"},
		{"short upstream secret", "event login\n\t\tupstream_headers abc",
			"upstream_headers secret must be at least 16 characters (better: {env.NAME} holding 32 random bytes), at Caddyfile:4"},
		{"operation block on login", "operation {\n\t\t\torder.amount 1\n\t\t}\n\t\tevent login",
			"login_guard: an operation block needs event operation, not login, at Caddyfile:3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ":8080 {\n\tlogin_guard {\n\t\t" + c.block + "\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, c.want)
			}
		})
	}
	// The same options on a route they fit are accepted.
	for _, block := range []string{
		"evaluate after_upstream\n\t\tevent login",
		"event operation\n\t\tstep_up /verify\n\t\tcontinuation resubmit\n\t\tsession_cookie portal_session",
		"event operation\n\t\tassertion required\n\t\tsession_cookie portal_session",
		"event none\n\t\tstep_up /verify",
		"event login\n\t\tstep_up_hosts auth.example.com\n\t\tstep_up https://auth.example.com/verify\n\t\tstep_up_cookie_domain example.com",
		"assertion optional\n\t\ton_assertion_unverifiable allow\n\t\tevent logout",
	} {
		cfg := ":8080 {\n\tlogin_guard {\n\t\t" + block + "\n\t}\n}\n"
		if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"}); err != nil {
			t.Errorf("%q: %v", block, err)
		}
	}
}

// jsonHandler provisions and validates a handler from its JSON config, as
// Caddy does with a saved config (which skips the Caddyfile's checks).
func jsonHandler(t *testing.T, a *app.App, cfg string) (*Handler, error) {
	t.Helper()
	h := new(Handler)
	if err := json.Unmarshal([]byte(cfg), h); err != nil {
		t.Fatalf("%s: %v", cfg, err)
	}
	err := h.provision(a, zap.NewNop())
	if err == nil {
		err = h.Validate()
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	return h, err
}

// TestGroupsRefuseJunkInJSON: each group checks its own values in a JSON
// config, where the Caddyfile's checks never ran, and names the route.
func TestGroupsRefuseJunkInJSON(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{`{"name":"r","event":"login","evaluate":"later"}`, `route "r": evaluate must be before_upstream or after_upstream, not "later"`},
		{`{"name":"r","event":"logout","evaluate":"after_upstream"}`, `route "r": evaluate after_upstream is only for event login`},
		{`{"name":"r","event":"login","mode":"watch"}`, `route "r": mode must be enforce or monitor, not "watch"`},
		{`{"name":"r","event":"login","audit_line":"syslog"}`, `route "r": audit_line must be own_line or access_log, not "syslog"`},
		{`{"name":"r","event":"login","deadline":-1}`, `route "r": deadline must be positive`},
		{`{"name":"r","event":"login","hold_limit":10}`, `route "r": hold_limit must be from 1024 to 16777216 bytes, not 10`},
		{`{"name":"r","event":"login","assertion":"maybe"}`, `route "r": assertion must be off, optional, required or passwordless, not "maybe"`},
		{`{"name":"r","event":"login","on_assertion_unverifiable":"allow"}`, `route "r": on_assertion_unverifiable needs assertion optional, required or passwordless`},
		{`{"name":"r","event":"login","step_up":"/verify","continuation":"sometimes"}`, `route "r": continuation must be resume or resubmit, not "sometimes"`},
		{`{"name":"r","event":"login","continuation":"resume"}`, `route "r": step_up_hosts, step_up_cookie_domain and continuation need step_up`},
		{`{"name":"r","event":"logout","step_up":"/verify"}`, `route "r": step_up is for login, operation and none routes, not logout`},
		{`{"name":"r","event":"login","step_up":"//evil.example/x"}`, `route "r": step_up: `},
		{`{"name":"r","event":"login","step_up":"/verify","ip_prefix_v4":99}`, `route "r": ip_prefix: stepup: IPv4 prefix /99 out of range 8..32`},
		{`{"name":"r","event":"login","engines":["nope"]}`, `route "r": engine "nope" is not configured in the global login_guard block`},
		{`{"name":"r","event":"none","rules":["lockout ip_user 5/15m for 30m deny"]}`, `route "r": lockout ip_user 5/15m for 30m deny: a lockout counts failed logins judged from the upstream's answer, so it needs event login, not none`},
		{`{"name":"r","event":"login","assertion":"required"}`, `route "r": assertion required needs a loginid block in the global login_guard options`},
	} {
		_, err := jsonHandler(t, testApp(t), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.cfg, err, c.want)
		}
	}
	// Defaults are the group's, and a valid config passes.
	h, err := jsonHandler(t, testApp(t), `{"name":"r","event":"login","step_up":"/verify","ip_prefix_v4":24}`)
	if err != nil {
		t.Fatal(err)
	}
	if o := h.EngineOptions; o.Evaluate != EvaluateBefore || o.HoldLimit != defaultHoldLimit || o.OnEngineFailure != "allow" {
		t.Errorf("engine defaults: %+v", o)
	}
	if o := h.StepUpOptions; o.Continuation != ContinuationResume || o.states == nil || o.states.Prefix.V4Bits != 24 {
		t.Errorf("step-up defaults and state: %+v", o)
	}
	if h.LoginIDOptions.Assertion != "off" || h.LoginIDOptions.uniqueFields() != nil {
		t.Errorf("assertion defaults: %+v", h.LoginIDOptions)
	}
	// A token in the body is a field the parser refuses twice; one in a
	// header is not the body's.
	inBody := LoginIDOptions{Assertion: "optional", AssertionField: "loginid_jwt"}
	inHeader := LoginIDOptions{Assertion: "optional", AssertionField: "loginid_jwt", AssertionHeader: "X-Token"}
	if f := inBody.uniqueFields(); len(f) != 1 || f[0] != "loginid_jwt" || inHeader.uniqueFields() != nil {
		t.Errorf("unique fields: body %v, header %v", f, inHeader.uniqueFields())
	}
}

// TestCleanupAfterFailedProvision: Caddy calls Cleanup after a Provision
// (or a Validate) that failed, at whatever point it stopped. Whatever was
// taken by then is given back, and nothing else is.
func TestCleanupAfterFailedProvision(t *testing.T) {
	a := testApp(t)
	a.RulesStore = &app.RulesStoreConfig{MaxKeys: 4242}
	// A route that holds the store, with one key in it.
	keeper := ruleTestHandler(t, a, &Handler{Name: "keeper", Event: EventLogin, RuleOptions: request.RuleOptions{Rules: []string{"rate ip 5/1m"}}})
	serveOnce(keeper, "198.51.100.1", upstreamOK)
	failing := []struct{ name, cfg string }{
		// Fails before any group provisioned.
		{"bad allow_ip", `{"name":"f1","event":"login","allow_ip":["not-an-ip"],"rules":["rate ip 5/1m"]}`},
		// Fails in a group that holds nothing.
		{"unknown engine", `{"name":"f2","event":"login","engines":["nope"],"rules":["rate ip 5/1m"]}`},
		{"no loginid block", `{"name":"f3","event":"login","assertion":"required","rules":["rate ip 5/1m"]}`},
		// Fails in the rules after the store was taken: two rules that
		// count the same thing (the Caddyfile refuses them at parse).
		{"rules after the store", `{"name":"f4","event":"login","rules":["rate ip 5/1m","rate ip 5/1m"]}`},
		// Provisions, then fails Validate (Caddy cleans up then too).
		{"validate", `{"name":"f5","event":"logout","step_up":"/verify","rules":["rate ip 5/1m"]}`},
	}
	for _, c := range failing {
		h := new(Handler)
		if err := json.Unmarshal([]byte(c.cfg), h); err != nil {
			t.Fatal(err)
		}
		err := h.provision(a, zap.NewNop())
		if err == nil {
			err = h.Validate()
		}
		if err == nil {
			t.Fatalf("%s: provisioned and validated", c.name)
		}
		if err := h.Cleanup(); err != nil {
			t.Fatalf("%s: cleanup: %v", c.name, err)
		}
		if err := h.Cleanup(); err != nil { // a second call releases nothing twice
			t.Fatalf("%s: second cleanup: %v", c.name, err)
		}
		if n := len(a.Routes().Get(h.Name)); n != 0 {
			t.Errorf("%s: route still registered (%d)", c.name, n)
		}
	}
	// The keeper's store was neither dropped by the failed routes' extra
	// releases nor kept alive by a hold they forgot.
	if n := storeKeys(t); n != 1 {
		t.Fatalf("store holds %d keys while the keeper lives, want its 1", n)
	}
	_ = keeper.Cleanup()
	if n := storeKeys(t); n != 0 {
		t.Fatalf("store kept (%d keys) after its last route went: a failed route still holds it", n)
	}
}

// storeKeys counts the keys of the app's pooled counter store (a store no
// route holds any more is dropped, so a new one starts empty).
func storeKeys(t *testing.T) int {
	t.Helper()
	a := testApp(t)
	a.RulesStore = &app.RulesStoreConfig{MaxKeys: 4242}
	return heldKeys(t, a)
}

// heldKeys counts the keys of a's counter store.
func heldKeys(t *testing.T, a *app.App) int {
	t.Helper()
	st, key, err := a.AcquireRulesStore()
	if err != nil {
		t.Fatal(err)
	}
	defer app.ReleaseRulesStore(key)
	es, err := st.List(context.Background(), counter.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
