package caddymodule_test

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestUnsetVariableRefusedAtLoad: an {env.*} placeholder that resolves to
// nothing refuses the config when it loads, naming the option and the
// placeholder, instead of an empty value taking effect: signing switched
// off (upstream_headers), a JWT check skipped (issuer), a "Bearer " header
// failing every engine call into on_engine_failure, a default field name
// read instead of the configured one. `caddy adapt` still accepts it: the
// variable belongs to the machine that runs the config.
func TestUnsetVariableRefusedAtLoad(t *testing.T) {
	const unset = "{env.LOGIN_GUARD_TEST_UNSET_VARIABLE}"
	t.Setenv("LOGIN_GUARD_TEST_UNSET_VARIABLE", "")
	cases := []struct{ name, global, route, option string }{
		{"route name", "", "name " + unset, "name"},
		{"user_field", "", "user_field " + unset, "user_field"},
		{"device_field", "", "device_field " + unset, "device_field"},
		{"channel", "", "channel " + unset, "channel"},
		{"upstream_headers", "", "upstream_headers " + unset, "upstream_headers"},
		{"allow_ip", "", "allow_ip " + unset, "allow_ip"},
		{"deny_ip", "", "deny_ip 10.0.0.0/8 " + unset, "deny_ip"},
		{"smartid endpoint", "smartid {\n endpoint " + unset + "\n license l\n channel 1\n}", "", "smartid endpoint"},
		{"smartid environment", "smartid {\n endpoint https://smartid.example.com\n license l\n channel 1\n environment " + unset + "\n}", "", "smartid environment"},
		{"forter site_id", "forter {\n site_id " + unset + "\n api_key k\n}", "", "site_id"},
		{"http url", "http s {\n url " + unset + "\n}", "", "url"},
		{"http header", "http s {\n url https://risk.example.com/score\n header Authorization \"Bearer " + unset + "\"\n}", "", "header Authorization"},
		{"loginid client_id", "loginid {\n mode pem\n region us\n client_id " + unset + "\n}", "", "client_id"},
		{"loginid issuer", "loginid {\n mode pem\n region us\n client_id c\n issuer " + unset + "\n}", "", "issuer"},
		{"pages portal_name", "pages {\n portal_name " + unset + "\n}", "", "pages portal_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "{\n admin off\n login_guard {\n" + c.global + "\n }\n}\n:8080 {\n login_guard /login {\n  event login\n  " + c.route + "\n }\n respond ok\n}\n"
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"}); err != nil {
				t.Fatalf("caddy adapt refused what only the running machine knows: %v", err)
			}
			err := caddytest.ValidateCaddyfile(t, cfg)
			want := c.option + ": evaluated placeholder " + unset + " is empty (is the environment variable set?)"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an error with %q", err, want)
			}
		})
	}
}
