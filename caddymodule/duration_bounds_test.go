package caddymodule_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// Every duration option has a maximum (docs/configuration.md), so a unit
// typed wrong (timeout 300m for 300ms, lockout_hold 60h) is refused: in a
// Caddyfile at the option's line, in a hand-written JSON config when it
// loads. The maximum itself is accepted.

// durationOption is one duration option in a Caddyfile; the refusal names
// the line its value is on.
type durationOption struct {
	name string
	// caddyfile is the config with %s where the value goes.
	caddyfile string
	option    string // as the refusal names it
	max, over string
}

// globalBlock is a global block holding option (the block's required
// options after it) and a site.
func globalBlock(block, option, rest string) string {
	return "{\n admin off\n login_guard {\n  " + block + " {\n   " + option + " %s\n" + rest + "  }\n }\n}\n:8080 {\n respond ok\n}\n"
}

var durationOptions = []durationOption{
	{"smartid timeout", globalBlock("smartid", "timeout", "   endpoint https://smartid.example.com\n   license k\n   channel 1\n"), "timeout", "1m", "300m"},
	{"breaker cool_down", globalBlock("breaker", "cool_down", ""), "cool_down", "1h", "30h"},
	{"loginid max_age", globalBlock("loginid", "max_age", "   mode pem\n   key_url https://jwt.example.com/certs\n   client_id c\n"), "max_age", "10m", "2h"},
	{"loginid clock_skew", globalBlock("loginid", "clock_skew", "   mode pem\n   key_url https://jwt.example.com/certs\n   client_id c\n"), "clock_skew", "5m", "30m"},
	{"forter timeout", globalBlock("forter", "timeout", "   site_id s\n   api_key k\n"), "timeout", "30s", "2m"},
	{"http engine timeout", globalBlock("http scoring", "timeout", "   url https://score.example.com\n"), "timeout", "30s", "2000s"},
	{"sandbox slow_delay", globalBlock("sandbox", "slow_delay", ""), "slow_delay", "1m", "10m"},
	{"smileid signature_window", globalBlock("smileid", "signature_window", smileidRequired), "signature_window", "1h", "5h"},
	{"smileid pending_ttl", globalBlock("smileid", "pending_ttl", smileidRequired), "pending_ttl", "1h", "15h"},
	{"smileid timeout", globalBlock("smileid", "timeout", smileidRequired), "timeout", "1m", "10m"},
	{"route deadline", "{\n admin off\n}\n:8080 {\n login_guard {\n  deadline %s\n  event login\n  engines sandbox\n }\n respond ok\n}\n", "deadline", "30s", "800s"},
	{"route lockout_hold", "{\n admin off\n}\n:8080 {\n login_guard {\n  lockout_hold %s\n  event login\n  lockout ip_user 5/15m for 30m\n }\n respond ok\n}\n", "lockout_hold", "10m", "60h"},
}

const smileidRequired = "   partner_id 1\n   api_key k\n   callback_url https://example.com/verify/smileid/callback\n"

func TestDurationMaximumInCaddyfile(t *testing.T) {
	for _, o := range durationOptions {
		t.Run(o.name, func(t *testing.T) {
			at := func(v string) string { return strings.Replace(o.caddyfile, "%s", v, 1) }
			line := strconv.Itoa(strings.Count(o.caddyfile[:strings.Index(o.caddyfile, "%s")], "\n") + 1)
			if err := caddytest.ValidateCaddyfile(t, at(o.max)); err != nil {
				t.Fatalf("the maximum %s: %v", o.max, err)
			}
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(at(o.over)), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, "Caddyfile:"+line+": "+o.option+": \""+o.over+"\" must be a positive duration of at most ")
		})
	}
}

// TestDurationMaximumOfOtherOptions: the options whose maximum is not
// read by DurationArg (a smileid limit's window, a lockout's `for`, store
// redis timeout) name their line too.
func TestDurationMaximumOfOtherOptions(t *testing.T) {
	for _, c := range []struct{ name, cfg, want string }{
		{"smileid user_limit window", "{\n login_guard {\n  smileid {\n   user_limit 5 1000h\n" + smileidRequired + "  }\n }\n}\n",
			"Caddyfile:4: smileid: user_limit: window \"1000h\" must be a positive duration of at most 720h0m0s"},
		{"smileid ip_limit window", "{\n login_guard {\n  smileid {\n   ip_limit 5 31d\n" + smileidRequired + "  }\n }\n}\n",
			"Caddyfile:4: smileid: ip_limit: window \"31d\" must be a positive duration of at most 720h0m0s"},
		{"store redis timeout", "{\n login_guard {\n  store redis {\n   timeout 250s\n   address 127.0.0.1:6379\n  }\n }\n}\n",
			"Caddyfile:4: timeout: \"250s\" must be a positive duration of at most 10s"},
		{"lockout for a year", ":8080 {\n login_guard {\n  event login\n  lockout ip_user 5/15m for 365d\n }\n}\n",
			"Caddyfile:4: lockout: for: invalid duration \"365d\": a lockout lasts at most 30d"},
		{"lockout for 31 days in hours", ":8080 {\n login_guard {\n  event login\n  lockout ip_user 5/15m for 744h\n }\n}\n",
			"Caddyfile:4: lockout: for: invalid duration \"744h\": a lockout lasts at most 30d"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(c.cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
	for _, ok := range []string{
		"{\n admin off\n login_guard {\n  smileid {\n   user_limit 5 30d\n   ip_limit 20 720h\n" + smileidRequired + "  }\n }\n}\n:8080 {\n respond ok\n}\n",
		"{\n admin off\n}\n:8080 {\n login_guard {\n  event login\n  lockout ip_user 5/15m for 30d\n  lockout user 50/1d for 720h\n }\n respond ok\n}\n",
	} {
		if err := caddytest.ValidateCaddyfile(t, ok); err != nil {
			t.Errorf("the maximum: %v\n%s", err, ok)
		}
	}
}

// TestDurationMaximumInJSON: a hand-written JSON config is held to the
// same maximum when it loads (caddy validate).
func TestDurationMaximumInJSON(t *testing.T) {
	const smartid = `"endpoint":"https://smartid.example.com","license":"k","channel":"1"`
	const loginid = `"mode":"pem","key_url":"https://jwt.example.com/certs","client_id":"c"`
	const smileid = `"partner_id":"1","api_key":"k","callback_url":"https://example.com/verify/smileid/callback"`
	apps := []struct{ name, app, want string }{
		{"smartid timeout at its maximum", `"smartid":{` + smartid + `,"timeout":"1m"}`, ""},
		{"smartid timeout", `"smartid":{` + smartid + `,"timeout":"300m"}`, "smartid: smartid: config: timeout must be a positive duration of at most 1m0s, not 5h0m0s"},
		{"breaker cool_down at its maximum", `"breaker":{"cool_down":"1h"}`, ""},
		{"breaker cool_down", `"breaker":{"cool_down":"30h"}`, "breaker: cool_down must be a positive duration of at most 1h0m0s, not 30h0m0s"},
		{"loginid at its maximum", `"loginid":{` + loginid + `,"max_age":"10m","clock_skew":"5m"}`, ""},
		{"loginid max_age", `"loginid":{` + loginid + `,"max_age":"87600h"}`, "loginid: max_age must be a positive duration of at most 10m0s, not 87600h0m0s"},
		{"loginid clock_skew", `"loginid":{` + loginid + `,"clock_skew":"1h"}`, "loginid: clock_skew must be a positive duration of at most 5m0s, not 1h0m0s"},
		{"engines at their maximum", `"engines":[{"engine":"http","name":"scoring","url":"https://score.example.com","timeout":"30s"},{"engine":"forter","site_id":"s","api_key":"k","timeout":"30s"},{"engine":"sandbox","name":"sb","slow_delay":"1m"}]`, ""},
		{"http engine timeout", `"engines":[{"engine":"http","name":"scoring","url":"https://score.example.com","timeout":"300m"}]`, `http engine "scoring": timeout must be a positive duration of at most 30s, not 5h0m0s`},
		{"forter timeout", `"engines":[{"engine":"forter","site_id":"s","api_key":"k","timeout":"-1s"}]`, "forter: timeout must be a positive duration of at most 30s, not -1s"},
		{"sandbox slow_delay", `"engines":[{"engine":"sandbox","name":"sb","slow_delay":"1h"}]`, `sandbox "sb": slow_delay must be a positive duration of at most 1m0s, not 1h0m0s`},
		{"smileid at its maximum", `"smileid":{` + smileid + `,"signature_window":"1h","pending_ttl":"1h","timeout":"1m","user_limit":5,"user_limit_window":"720h","ip_limit":5,"ip_limit_window":"720h"}`, ""},
		{"smileid signature_window", `"smileid":{` + smileid + `,"signature_window":"5h"}`, "smileid: signature_window must be a positive duration of at most 1h0m0s, not 5h0m0s"},
		{"smileid pending_ttl", `"smileid":{` + smileid + `,"pending_ttl":"15h"}`, "smileid: pending_ttl must be a positive duration of at most 1h0m0s, not 15h0m0s"},
		{"smileid timeout", `"smileid":{` + smileid + `,"timeout":"10m"}`, "smileid: timeout must be a positive duration of at most 1m0s, not 10m0s"},
		{"smileid user_limit_window", `"smileid":{` + smileid + `,"user_limit":5,"user_limit_window":"721h"}`, "smileid: user_limit_window must be a positive duration of at most 720h0m0s, not 721h0m0s"},
	}
	for _, c := range apps {
		t.Run(c.name, func(t *testing.T) {
			cfg := `{"admin":{"disabled":true},"apps":{"login_guard":{` + c.app + `}}}`
			err := caddyValidateJSON(t, cfg)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
	handlers := []struct{ name, handler, want string }{
		{"deadline at its maximum", `"engines":["sandbox"],"deadline":"30s"`, ""},
		{"deadline", `"engines":["sandbox"],"deadline":"300m"`, `route "j": deadline must be a positive duration of at most 30s, not 5h0m0s`},
		{"lockout_hold at its maximum", `"rules":["lockout ip_user 5/15m for 30d"],"lockout_hold":"10m"`, ""},
		{"lockout_hold", `"rules":["lockout ip_user 5/15m for 30m"],"lockout_hold":"60h"`, `route "j": lockout_hold must be a positive duration of at most 10m0s, not 60h0m0s`},
		{"lockout for a year", `"rules":["lockout ip_user 5/15m for 365d"]`, `invalid duration "365d": a lockout lasts at most 30d`},
	}
	for _, c := range handlers {
		t.Run(c.name, func(t *testing.T) {
			cfg := `{"admin":{"disabled":true},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[{"handle":[{"handler":"login_guard","name":"j","event":"login",` + c.handler + `}]}]}}}}}`
			err := caddyValidateJSON(t, cfg)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}
