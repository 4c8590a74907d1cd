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
	"github.com/login-guard/login_guard/rules"
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
			"continuation needs step_up, at Caddyfile:3"},
		{"cookie domain without step_up", "event login\n\t\tstep_up_cookie_domain example.com",
			"step_up_cookie_domain needs step_up, at Caddyfile:4"},
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
		// An option that tunes what the route does not have would do
		// nothing: refused at its line, whatever comes after it.
		{"ip_prefix without step_up", "ip_prefix 24\n\t\tevent login", "ip_prefix needs step_up, at Caddyfile:3"},
		{"evaluate without engines", "event login\n\t\tevaluate before_upstream", "evaluate needs engines, at Caddyfile:4"},
		{"deadline without engines", "deadline 2s\n\t\tevent login", "deadline needs engines, at Caddyfile:3"},
		{"hold_limit without engines", "event login\n\t\thold_limit 4096", "hold_limit needs engines, at Caddyfile:4"},
		{"hold_limit before the upstream", "event login\n\t\thold_limit 4096\n\t\tengines sandbox",
			"hold_limit needs evaluate after_upstream: it bounds the upstream's answer held while the engines decide, at Caddyfile:4"},
		{"on_engine_failure without engines", "on_engine_failure deny\n\t\tevent login",
			"on_engine_failure needs engines, or an assertion optional or passwordless without on_assertion_unverifiable, at Caddyfile:3"},
		{"on_engine_failure beside assertion required", "event login\n\t\ton_engine_failure deny\n\t\tassertion required",
			"on_engine_failure needs engines, or an assertion optional or passwordless without on_assertion_unverifiable, at Caddyfile:4"},
		{"on_engine_failure beside on_assertion_unverifiable", "event login\n\t\tassertion optional\n\t\ton_assertion_unverifiable deny\n\t\ton_engine_failure deny",
			"on_engine_failure needs engines, or an assertion optional or passwordless without on_assertion_unverifiable, at Caddyfile:6"},
		{"lockout_hold without a lockout", "lockout_hold 2m\n\t\trate ip 5/1m\n\t\tevent login", "lockout_hold needs a lockout rule (event login), at Caddyfile:3"},
		{"on_full without a counting rule", "event login\n\t\ton_full deny\n\t\twhen \"user_agent == \\\"\\\"\" challenge",
			"on_full needs a rule that counts (rate, lockout, spray or spread), at Caddyfile:4"},
		{"on_store_failure without a counting rule", "on_store_failure allow\n\t\tdevice missing challenge\n\t\tevent login",
			"on_store_failure needs a rule that counts (rate, lockout, spray or spread), at Caddyfile:3"},
		{"ipv4_prefix without a counting rule", "event login\n\t\tipv4_prefix 24", "ipv4_prefix needs a rule that counts (rate, lockout, spray or spread), at Caddyfile:4"},
		{"ipv6_prefix without a counting rule", "event none\n\t\tipv6_prefix 48", "ipv6_prefix needs a rule that counts (rate, lockout, spray or spread), at Caddyfile:4"},
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
		"evaluate after_upstream\n\t\tevent login\n\t\tengines sandbox",
		"event login\n\t\tengines sandbox\n\t\tevaluate after_upstream\n\t\thold_limit 4096\n\t\tdeadline 2s\n\t\ton_engine_failure deny",
		"event login\n\t\tassertion optional\n\t\ton_engine_failure deny",
		"event login\n\t\tstep_up /verify\n\t\tip_prefix 24",
		"event login\n\t\tlockout ip_user 5/15m for 30m\n\t\tlockout_hold 2m",
		"event none\n\t\trate ip 5/1m\n\t\ton_full deny\n\t\ton_store_failure allow\n\t\tipv4_prefix 24\n\t\tipv6_prefix 48",
		"event login\n\t\tspray 20/10m\n\t\tipv4_prefix 24",
		// mode monitor also watches the local rules; account_id is
		// also the step-up's (smileid user_id account_id).
		"event login\n\t\tmode monitor\n\t\twhen \"user == \\\"a\\\"\" deny",
		"event login\n\t\tstep_up /verify\n\t\taccount_id {http.auth.user.id}",
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
		{`{"name":"r","event":"login","deadline":-1}`, `route "r": deadline must be a positive duration of at most 30s, not -1ns`},
		{`{"name":"r","event":"login","hold_limit":10}`, `route "r": hold_limit must be from 1024 to 16777216 bytes, not 10`},
		{`{"name":"r","event":"login","assertion":"maybe"}`, `route "r": assertion must be off, optional, required or passwordless, not "maybe"`},
		{`{"name":"r","event":"login","on_assertion_unverifiable":"allow"}`, `route "r": on_assertion_unverifiable needs assertion optional, required or passwordless`},
		{`{"name":"r","event":"login","step_up":"/verify","continuation":"sometimes"}`, `route "r": continuation must be resume or resubmit, not "sometimes"`},
		{`{"name":"r","event":"login","continuation":"resume"}`, `route "r": continuation needs step_up`},
		// Options that tune what the route does not have.
		{`{"name":"r","event":"login","ip_prefix_v6":48}`, `route "r": ip_prefix needs step_up`},
		{`{"name":"r","event":"login","evaluate":"before_upstream"}`, `route "r": evaluate needs engines`},
		{`{"name":"r","event":"login","deadline":2000000000}`, `route "r": deadline needs engines`},
		{`{"name":"r","event":"login","hold_limit":4096}`, `route "r": hold_limit needs engines`},
		{`{"name":"r","event":"login","on_engine_failure":"deny"}`, `route "r": on_engine_failure needs engines, or an assertion optional or passwordless`},
		{`{"name":"r","event":"login","rules":["rate ip 5/1m"],"lockout_hold":60000000000}`, `route "r": lockout_hold needs a lockout rule (event login)`},
		{`{"name":"r","event":"login","on_full":"deny"}`, `route "r": on_full needs a rule that counts (rate, lockout, spray or spread)`},
		{`{"name":"r","event":"login","rules":["when \"true\" challenge"],"on_store_failure":"allow"}`, `route "r": on_store_failure needs a rule that counts`},
		{`{"name":"r","event":"login","ipv4_prefix":24}`, `route "r": ipv4_prefix needs a rule that counts`},
		{`{"name":"r","event":"login","ipv6_prefix":48}`, `route "r": ipv6_prefix needs a rule that counts`},
		// A name that is not one, the device field read as the user, a
		// list with a value twice.
		{`{"name":"portal login","event":"login"}`, `name "portal login": a route's name (by default its named matcher's) takes ASCII letters, digits, ".", "_" and "-" only, not ' '`},
		{`{"name":"api/login","event":"login"}`, `name "api/login": a route's name`},
		{`{"name":"login\n","event":"login"}`, `name "login\n": a route's name`},
		{`{"name":"r","event":"login","device_field":"username"}`, `formbody: device field "username" is the user field`},
		{`{"name":"r","event":"login","user_field":"login","device_field":"Login"}`, `formbody: device field "Login" is the user field`},
		{`{"name":"r","event":"login","password_fields":["pw","PW"]}`, `formbody: password field "PW" given twice`},
		{`{"name":"r","event":"login","step_up":"https://auth.example.com/verify","step_up_hosts":["auth.example.com","Auth.example.com"],"step_up_cookie_domain":"example.com"}`, `route "r": step_up_hosts: "Auth.example.com" given twice`},
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
	// The engine options stay as given (validate tells an option given
	// from one left out); their defaults apply where they are read.
	if o := h.EngineOptions; o.Evaluate != "" || o.HoldLimit != 0 || o.Deadline != 0 || o.onFailure != rules.Allow {
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
