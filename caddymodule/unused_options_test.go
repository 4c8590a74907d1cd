package caddymodule_test

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestStepUpRouteRuleOptionsNeedTheirRules: on the step-up route as on a
// login route, on_full, on_store_failure, ipv4_prefix and ipv6_prefix
// without a rule that counts would do nothing: refused at their line,
// wherever the rules stand; beside one they are taken.
func TestStepUpRouteRuleOptionsNeedTheirRules(t *testing.T) {
	for _, c := range []struct{ block, want string }{
		{"event step_up\n on_full deny", "Caddyfile:4: login_guard: on_full needs a rule that counts (rate, lockout, spray or spread)"},
		{"on_store_failure allow\n event step_up\n when \"user == \\\"a\\\"\" deny", "Caddyfile:3: login_guard: on_store_failure needs a rule that counts"},
		{"event step_up\n ipv4_prefix 24", "Caddyfile:4: login_guard: ipv4_prefix needs a rule that counts"},
		{"event step_up\n ipv6_prefix 48", "Caddyfile:4: login_guard: ipv6_prefix needs a rule that counts"},
	} {
		cfg := ":8080 {\n login_guard {\n " + c.block + "\n }\n}\n"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
		checkAdaptErr(t, err, c.want)
	}
	ok := ":8080 {\n login_guard {\n on_full deny\n ipv4_prefix 24\n event step_up\n rate ip 30/1m\n }\n}\n"
	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(ok), map[string]any{"filename": "Caddyfile"}); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedOptionsInJSON: a hand-written JSON config is held to the
// Caddyfile's checks when it loads (`caddy validate`): an option without
// what it tunes, a name that is not one, a device field that is the user
// field, a list with a value twice.
func TestRefusedOptionsInJSON(t *testing.T) {
	route := func(handler string) string {
		return `{"admin":{"disabled":true},"apps":{"login_guard":{"passkeys":{"rp_id":"localhost","rp_origins":["http://localhost"]}},` +
			`"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[{"handle":[` + handler + `]}]}}}}}`
	}
	app := func(loginGuard string) string {
		return `{"admin":{"disabled":true},"apps":{"login_guard":` + loginGuard + `}}`
	}
	for _, c := range []struct{ cfg, want string }{
		{route(`{"handler":"login_guard","name":"j","event":"login","deadline":"2s"}`), `route "j": deadline needs engines`},
		{route(`{"handler":"login_guard","name":"j","event":"login","engines":["sandbox"],"hold_limit":4096}`), `route "j": hold_limit needs evaluate after_upstream`},
		{route(`{"handler":"login_guard","name":"j","event":"login","on_engine_failure":"deny"}`), `route "j": on_engine_failure needs engines`},
		{route(`{"handler":"login_guard","name":"j","event":"login","rules":["rate ip 5/1m"],"lockout_hold":"2m"}`), `route "j": lockout_hold needs a lockout rule`},
		{route(`{"handler":"login_guard","name":"j","event":"login","on_full":"deny"}`), `route "j": on_full needs a rule that counts`},
		{route(`{"handler":"login_guard","name":"j","event":"login","ip_prefix_v4":24}`), `route "j": ip_prefix needs step_up`},
		{route(`{"handler":"login_guard","name":"api/login","event":"login"}`), `name "api/login": a route's name`},
		{route(`{"handler":"login_guard","name":"j","event":"login","device_field":"username"}`), `device field "username" is the user field`},
		{route(`{"handler":"login_guard","name":"j","event":"login","password_fields":["pw","pw"]}`), `password field "pw" given twice`},
		{route(`{"handler":"login_guard_step_up","name":"step up"}`), `name "step up": a route's name`},
		{route(`{"handler":"login_guard_step_up","ipv6_prefix":48}`), `ipv6_prefix needs a rule that counts`},
		{app(`{"passkeys":{"rp_id":"example.com","rp_origins":["https://example.com","https://Example.com/"]}}`), `rp_origin "https://Example.com" given twice`},
		{app(`{"loginid":{"mode":"jwks","key_url":"https://keys.example.com/jwks","client_id":"c","authentication_types":["fido2_login","fido2_login"]}}`), `authentication type "fido2_login" given twice`},
		{app(`{"engines":[{"engine":"http","name":"scoring","url":"https://scoring.example.com","allowed_reasons":["velocity","velocity"]}]}`), `allowed reason "velocity" given twice`},
	} {
		err := caddyValidateJSON(t, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, got %v", c.cfg, c.want, err)
		}
	}
}

// TestMatcherNameAsRouteName: an unnamed route is named after its named
// matcher, which is then held to the rule of a name when the config loads.
func TestMatcherNameAsRouteName(t *testing.T) {
	cfg := func(matcher string) string {
		return "{\n\tadmin off\n}\n:8080 {\n\t" + matcher + " path /api/login\n\tlogin_guard " + matcher + " {\n\t\tevent login\n\t}\n}\n"
	}
	if err := caddytest.ValidateCaddyfile(t, cfg("@api/login")); err == nil || !strings.Contains(err.Error(), `name "api/login": a route's name (by default its named matcher's) takes`) {
		t.Errorf("matcher @api/login: %v", err)
	}
	if err := caddytest.ValidateCaddyfile(t, cfg("@api-login.v2")); err != nil {
		t.Errorf("matcher @api-login.v2: %v", err)
	}
}
