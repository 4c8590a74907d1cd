package caddymodule_test

import (
	"strings"
	"testing"
)

// TestAppJSONRanges: a hand-written JSON app is held to the ranges the
// Caddyfile enforces (docs/configuration.md), refused by `caddy
// validate` rather than accepted and failing (or silently misbehaving)
// once it runs.
func TestAppJSONRanges(t *testing.T) {
	const smartid = `"endpoint":"https://smartid.example.com","license":"k","channel":"1"`
	const loginid = `"mode":"pem","key_url":"https://jwt.example.com/certs","client_id":"c"`
	const smileid = `"partner_id":"1","api_key":"k","callback_url":"https://example.com/verify/smileid/callback"`
	cases := []struct{ name, app, want string }{
		{"smartid in range", `"smartid":{` + smartid + `,"queue_size":1048576,"workers":256}`, ""},
		{"smartid queue_size", `"smartid":{` + smartid + `,"queue_size":2000000000}`, "queue size must be at most 1048576"},
		{"smartid workers", `"smartid":{` + smartid + `,"workers":257}`, "workers must be at most 256"},
		{"smartid license", `"smartid":{"endpoint":"https://smartid.example.com","license":"abc def","channel":"1"}`, "license contains characters not allowed in an HTTP header"},
		{"breaker in range", `"breaker":{"failures":1000,"cool_down":"1s"}`, ""},
		{"breaker negative", `"breaker":{"failures":-7,"cool_down":"30s"}`, "breaker: failures must be from 1 to 1000, not -7"},
		{"breaker too many", `"breaker":{"failures":100000}`, "breaker: failures must be from 1 to 1000, not 100000"},
		{"breaker cool_down", `"breaker":{"failures":5,"cool_down":"-5s"}`, "breaker: cool_down must be a positive duration of at most 1h0m0s, not -5s"},
		{"session ttl", `"session":{"ttl":"-1h"}`, "session: ttl must be positive"},
		{"session key_rotation", `"session":{"key_rotation":"-1h"}`, "session: key_rotation must be positive"},
		{"session key_grace", `"session":{"ttl":"24h","key_grace":"1h"}`, "session: key_grace must be at least ttl"},
		{"session ttl of a nanosecond", `"session":{"ttl":1}`, "session: ttl must be from 1s to 87600h0m0s, not 1ns"},
		{"session key_rotation over 3650 days", `"session":{"key_rotation":"87601h"}`, "session: key_rotation must be from 1s to 87600h0m0s"},
		{"session at the bounds", `"session":{"ttl":"87600h","key_rotation":"1s"}`, ""},
		{"loginid in range", `"loginid":{` + loginid + `,"replay_cache_size":10000000}`, ""},
		{"loginid replay negative", `"loginid":{` + loginid + `,"replay_cache_size":-5}`, "replay_cache_size must be from 1 to 10000000, not -5"},
		{"loginid fetch_timeout in range", `"loginid":{` + loginid + `,"fetch_timeout":"30s"}`, ""},
		{"loginid fetch_timeout short", `"loginid":{` + loginid + `,"fetch_timeout":"10ms"}`, "loginid: fetch_timeout must be from 100ms to 30s, not 10ms"},
		{"loginid key_url and region", `"loginid":{` + loginid + `,"region":"usw1"}`, "loginid: give key_url or region, not both"},
		{"passkeys origin off the rp_id", `"passkeys":{"rp_id":"example.com","rp_origins":["https://example.com","https://www.example.com","https://example.org"]}`, `passkeys: rp_origin "https://example.org" is not on rp_id example.com`},
		{"passkeys origins on the rp_id", `"passkeys":{"rp_id":"example.com","rp_origins":["https://example.com","https://login.Example.com:8443"]}`, ""},
		{"smileid callback elsewhere", `"smileid":{"partner_id":"1","api_key":"k","callback_url":"https://example.com/verify/callback"}`, `smileid: callback_url "https://example.com/verify/callback" must end with /smileid/callback`},
		{"loginid replay huge", `"loginid":{` + loginid + `,"replay_cache_size":2000000000}`, "replay_cache_size must be from 1 to 10000000"},
		{"loginid replay per user in range", `"loginid":{` + loginid + `,"replay_cache_per_user":10000000}`, ""},
		{"loginid replay per user negative", `"loginid":{` + loginid + `,"replay_cache_per_user":-5}`, "replay_cache_per_user must be from 1 to 10000000, not -5"},
		{"loginid replay per client in range", `"loginid":{` + loginid + `,"replay_cache_per_client":10000000}`, ""},
		{"loginid replay per client negative", `"loginid":{` + loginid + `,"replay_cache_per_client":-1}`, "replay_cache_per_client must be from 1 to 10000000, not -1"},
		{"loginid replay per client huge", `"loginid":{` + loginid + `,"replay_cache_per_client":10000001}`, "replay_cache_per_client must be from 1 to 10000000, not 10000001"},
		{"smileid in range", `"smileid":{` + smileid + `,"server":"production","user_limit":0,"user_limit_window":"1h","limit_keys":10000000}`, ""},
		{"smileid server word", `"smileid":{` + smileid + `,"server":"prod"}`, `smileid: server must be sandbox or production, not "prod"`},
		{"smileid server and base_url", `"smileid":{` + smileid + `,"server":"production","base_url":"https://proxy.example.com"}`, "smileid: give server or base_url, not both"},
		{"smileid user_limit", `"smileid":{` + smileid + `,"user_limit":-5,"user_limit_window":"1h"}`, "smileid: user_limit must be from 0 to 1000000, not -5"},
		{"smileid limit_keys", `"smileid":{` + smileid + `,"limit_keys":-1}`, "smileid: limit_keys must be from 1 to 10000000, not -1"},
		{"smileid max_pending in range", `"smileid":{` + smileid + `,"max_pending":10000000}`, ""},
		{"smileid max_pending huge", `"smileid":{` + smileid + `,"max_pending":2000000000}`, "smileid: max_pending must be from 1 to 10000000, not 2000000000"},
		{"smileid max_pending negative", `"smileid":{` + smileid + `,"max_pending":-1}`, "smileid: max_pending must be from 1 to 10000000, not -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := `{"admin":{"disabled":true},"apps":{"login_guard":{` + c.app + `}}}`
			err := caddyValidateJSON(t, cfg)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}

// TestHandlerJSONRanges: a hand-written JSON route handler is held to the
// Caddyfile's ranges too.
func TestHandlerJSONRanges(t *testing.T) {
	cases := []struct{ name, handler, want string }{
		{"max_body at its bound", `"max_body":1073741824`, ""},
		{"max_body above 1GiB", `"max_body":1073741825`, "max_body must be from 1 to 1073741824 bytes (1GiB), not 1073741825"},
		{"success body_limit at its bound", `"success":{"json_field":"ok","json_value":"true","body_limit":1048576}`, ""},
		{"success body_limit negative", `"success":{"body_limit":-5}`, "success: body_limit must be from 1 to 1048576 bytes (1MiB), not -5"},
		{"success body_limit huge", `"success":{"body_limit":2000000000}`, "success: body_limit must be from 1 to 1048576 bytes"},
		{"success status with signs", `"success":{"status":["+200-+299"]}`, `invalid status "+200-+299"`},
		{"engine named twice", `"engines":["sandbox","sandbox"]`, `engine "sandbox" is named twice`},
		{"rule window below a second", `"rules":["rate ip 5/1ms deny"]`, `invalid duration "1ms": must be at least 1s`},
		{"lockout for a nanosecond", `"rules":["lockout ip 5/1m for 1ns"]`, `invalid duration "1ns": must be at least 1s`},
		{"password field is the user field", `"password_fields":["username"]`, `field "username" is also a password field`},
		// The event is checked first: an unknown one is named as such,
		// not through a rule that does not fit it. (A key given twice in
		// JSON takes its last value.)
		{"unknown event beside a lockout", `"event":"signin","rules":["lockout user 5/15m for 30m"]`, `route "j": unknown event "signin"`},
		// report and success do nothing off a login route; the Caddyfile
		// refuses them at their line.
		{"report on an operation route", `"event":"operation","report":"all"`, `route "j": report is only for event login`},
		{"success on a logout route", `"event":"logout","success":{"status":["200"]}`, `route "j": success is only for event login`},
		{"report on a login route", `"report":"success"`, ""},
		{"session_cookie not a cookie name", `"session_cookie":"portal session"`, `route "j": session_cookie: "portal session" is not a cookie name`},
		{"success cookie not a cookie name", `"success":{"cookie":"a=b"}`, `success: cookie: "a=b" is not a cookie name`},
		{"cookie names", `"session_cookie":"__Host-portal_session","success":{"cookie":"portal.sid"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := `{"admin":{"disabled":true},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[{"handle":[{"handler":"login_guard","name":"j","event":"login",` + c.handler + `}]}]}}}}}`
			err := caddyValidateJSON(t, cfg)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}
