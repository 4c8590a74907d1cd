package caddymodule_test

import (
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestRuleCaddyfileErrors: a bad rule is refused when the Caddyfile is
// adapted, with the line it is on.
func TestRuleCaddyfileErrors(t *testing.T) {
	cases := []struct{ name, lines, want string }{
		{"unknown key", "rate house 5/1m", "Caddyfile:4: rate: unknown key \"house\""},
		{"bad window", "rate ip 5/soon", "Caddyfile:4: rate:"},
		{"zero limit", "rate ip 0/1m", "Caddyfile:4: rate:"},
		{"limit too high", "rate ip 10001/1m", "Caddyfile:4: rate:"},
		{"rate action allow", "rate ip 5/1m allow", "Caddyfile:4: rate: action must be deny or challenge"},
		{"two actions", "rate ip 5/1m deny challenge", "Caddyfile:4: rate: more than one action"},
		{"rate missing args", "rate ip", "Caddyfile:4: rate: want"},
		{"lockout without for", "lockout user 5/15m 30m", "Caddyfile:4: lockout: want"},
		{"lockout device key", "lockout device 5/15m for 30m", "Caddyfile:4: lockout"},
		{"lockout bad duration", "lockout user 5/15m for ever", "Caddyfile:4: lockout"},
		{"spray wrong key", "spray user 20/10m", "Caddyfile:4: spray"},
		{"device what", "device broken challenge", "Caddyfile:4: device"},
		{"device no action", "device missing", "Caddyfile:4: device: want"},
		{"when not bool", "when \"user\" deny", "Caddyfile:4: when"},
		{"when syntax", "when \"user ==\" deny", "Caddyfile:4: when"},
		{"when unknown var", "when \"password == \\\"x\\\"\" deny", "Caddyfile:4: when"},
		{"when bad cidr", "when \"ip_in(ip, \\\"10.0.0.0/99\\\")\" deny", "Caddyfile:4: when: ip_in"},
		{"when bad reason", "when \"user == \\\"a\\\"\" deny Bad-Reason", "Caddyfile:4: when: reason"},
		{"monitor twice", "rate ip 5/1m monitor monitor", "Caddyfile:4: rate: monitor given twice"},
		{"duplicate rule", "rate ip 5/1m deny\n rate ip 5/1m challenge", "Caddyfile:5: duplicate rule"},
		{"duplicate on a later line", "rate ip 5/1m\n device missing challenge\n rate user 3/1m\n rate user 3/1m", "Caddyfile:7: duplicate rule"},
		{"on_full", "on_full maybe", "Caddyfile:4: \"maybe\" is not one of allow, challenge, deny"},
		{"on_full twice", "on_full deny\n on_full allow", "Caddyfile:5: on_full given twice"},
		{"ipv6_prefix", "ipv6_prefix 129", "Caddyfile:4: \"129\" must be a whole number from 1 to 128"},
		{"ipv4_prefix", "ipv4_prefix 0", "Caddyfile:4: \"0\" must be a whole number from 1 to 32"},
		{"case_sensitive_users arg", "case_sensitive_users yes", "Caddyfile:4: wrong argument count"},
		{"lockout_hold", "lockout_hold never", "Caddyfile:4: lockout_hold: \"never\" must be a positive duration of at most 10m0s"},
		// A window or lockout below a second never fires (a typo for 1m
		// would switch the limit off); the cap is 3650 days in any unit.
		{"window of a millisecond", "rate ip 5/1ms deny", "Caddyfile:4: rate: invalid limit \"5/1ms\": invalid duration \"1ms\": must be at least 1s"},
		{"window of a nanosecond", "rate ip 5/1ns deny", "Caddyfile:4: rate: invalid limit \"5/1ns\""},
		{"spray window of a nanosecond", "spray 5/1ns", "Caddyfile:4: spray: invalid limit \"5/1ns\""},
		{"lockout for a nanosecond", "lockout ip 5/1m for 1ns", "Caddyfile:4: lockout: for: invalid duration \"1ns\": must be at least 1s"},
		{"window in hours past the cap", "rate ip 5/2000000h", "Caddyfile:4: rate: invalid limit \"5/2000000h\": invalid duration \"2000000h\": must be at most 3650d"},
		{"count with a sign", "rate ip +5/1m", "Caddyfile:4: rate: invalid limit \"+5/1m\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ":8080 {\n login_guard {\n event login\n " + c.lines + "\n }\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
}

func TestRulesStoreOptionErrors(t *testing.T) {
	cases := []struct{ name, global, want string }{
		{"max_keys zero", "login_guard {\n  rules_store {\n   max_keys 0\n  }\n}", "Caddyfile:4: \"0\" must be a whole number from 1 to 10000000"},
		{"unknown", "login_guard {\n  rules_store {\n   shards 4\n  }\n}", "Caddyfile:4: rules_store: unknown option \"shards\""},
		{"twice", "login_guard {\n  rules_store\n  rules_store\n}", "Caddyfile:4: rules_store given twice"},
		{"argument", "login_guard {\n  rules_store redis\n}", "Caddyfile:3: wrong argument count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "{\n " + c.global + "\n}\n:8080 {\n respond ok\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
}

// TestRuleProvisionErrors: what only makes sense once the route is known
// is refused when the config is loaded, naming the route and the rule; a
// rule that does not fit the event, once the block is read, at its line.
func TestRuleProvisionErrors(t *testing.T) {
	cases := []struct{ name, block, want string }{
		{"lockout on a route that is not a login", "event none\n\t\trate ip 5/1m\n\t\tlockout ip_user 5/15m for 30m", `lockout ip_user 5/15m for 30m deny: a lockout counts failed logins judged from the upstream's answer, so it needs event login, not none, at Caddyfile:9`},
		{"lockout before the event", "lockout ip_user 5/15m for 30m\n\t\tevent logout", `lockout ip_user 5/15m for 30m deny: a lockout counts failed logins judged from the upstream's answer, so it needs event login, not logout, at Caddyfile:7`},
		{"unknown counter", "event login\n\t\trate ip 5/1m\n\t\twhen \"counters.rate_user > 3\" deny", `unknown counter "rate_user" (this route counts: rate_ip)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "{\n\tadmin off\n}\n:8080 {\n\tlogin_guard {\n\t\tname r\n\t\t" + c.block + "\n\t}\n}\n"
			err := caddytest.ValidateCaddyfile(t, cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
	// A when rule may name a counter defined on a later line.
	ok := "{\n\tadmin off\n}\n:8080 {\n\tlogin_guard {\n\t\tevent login\n\t\twhen \"counters.rate_ip > 2\" challenge busy\n\t\trate ip 5/1m\n\t}\n}\n"
	if err := caddytest.ValidateCaddyfile(t, ok); err != nil {
		t.Fatal(err)
	}
}

// TestRuleJSONErrors: rules written by hand in JSON are checked at load.
func TestRuleJSONErrors(t *testing.T) {
	cases := []struct{ rule, want string }{
		{`rate ip 5/1m deny`, ""},
		{`when \"user == \\\"a\\\"\" deny`, ""},
		{`rate ip 5/1m deny extra`, `rules[0] "rate ip 5/1m deny extra": rate: unexpected argument "extra"`},
		{`when \"user == 1`, `unterminated quote`},
		{`when \"user\"x deny`, `a quoted word must be followed by a space`},
		{`   `, `empty rule`},
	}
	for _, c := range cases {
		cfg := `{"admin":{"disabled":true},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[{"handle":[{"handler":"login_guard","name":"j","event":"login","rules":["` + c.rule + `"]}]}]}}}}}`
		err := caddyValidateJSON(t, cfg)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Fatalf("%s: want %q, got %v", c.rule, c.want, err)
		}
	}
}

// caddyValidateJSON provisions a JSON config without starting it, as
// `caddy validate` does.
func caddyValidateJSON(t *testing.T, cfg string) error {
	t.Helper()
	return caddy.Validate(caddytest.MustConfig(t, []byte(cfg)))
}

// TestRulesGoldenLoads: the golden file's config is not only adapted but
// accepted by Provision (every rule compiles, counters named by when
// rules exist).
func TestRulesGoldenLoads(t *testing.T) {
	raw, err := os.ReadFile("testdata/adapt/rules_all.caddyfiletest")
	if err != nil {
		t.Fatal(err)
	}
	input, _, _ := strings.Cut(string(raw), "\n----------\n")
	input = strings.Replace(input, "{\n", "{\n\tadmin off\n", 1)
	if err := caddytest.ValidateCaddyfile(t, input); err != nil {
		t.Fatal(err)
	}
}
