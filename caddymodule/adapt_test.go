package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCaddyfileAdapt checks Caddyfile → JSON for every file under
// testdata/adapt, the way Caddy's own caddyfile_adapt tests do: the
// Caddyfile, a line of dashes, then the JSON it must produce.
func TestCaddyfileAdapt(t *testing.T) {
	t.Setenv("SMARTID_LICENSE", "license-from-env")
	t.Setenv("FORTER_SITE_ID", "site123")
	t.Setenv("FORTER_API_KEY", "forter-key-from-env")
	t.Setenv("RISK_TOKEN", "risk-token-from-env")
	files, _ := filepath.Glob("testdata/adapt/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(raw), "\n----------\n")
			if !ok {
				t.Fatal("missing ---------- separator")
			}
			input += "\n"
			got, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if len(warnings) > 0 {
				t.Fatalf("warnings: %v", warnings)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(f, []byte(input+"----------\n"+pretty.String()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.TrimSpace(pretty.String()) != strings.TrimSpace(want) {
				t.Fatalf("adapted JSON differs (run with -update to accept):\n%s", pretty.String())
			}
			// Every golden config must also pass `caddy validate`.
			if err := caddy.Validate(caddytest.MustConfig(t, got)); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

// TestCaddyfileErrors checks that bad configs are refused at adapt time
// with a message that names the problem and the line.
func TestCaddyfileErrors(t *testing.T) {
	cases := []struct{ name, site, want string }{
		{"unknown subdirective", "login_guard {\n event login\n bogus 1\n}", "Caddyfile:4: unknown subdirective \"bogus\""},
		{"no event", "login_guard {\n}", "event is required"},
		{"bad event", "login_guard {\n event signup\n}", "Caddyfile:3: \"signup\" is not one of login, logout, operation"},
		{"repeated key", "login_guard {\n event login\n event logout\n}", "Caddyfile:4: event given twice"},
		{"extra arg", "login_guard {\n event login logout\n}", "Caddyfile:3: unexpected argument \"logout\""},
		{"bad cidr", "login_guard {\n event login\n deny_ip 10.0.0.0/99\n}", "Caddyfile:4: invalid CIDR"},
		{"no cidr", "login_guard {\n event login\n allow_ip\n}", "Caddyfile:4: wrong argument count"},
		{"bad cidr on step-up", "login_guard {\n event step_up\n allow_ip 10.0.0.0/8 192.0.2.0/33\n}", "Caddyfile:4: invalid CIDR"},
		{"bad size", "login_guard {\n event login\n max_body lots\n}", "Caddyfile:4: max_body: invalid size"},
		{"bad status", "login_guard {\n event login\n success {\n  status 200-99\n }\n}", "Caddyfile:5: success: invalid status range"},
		{"bad json value", "login_guard {\n event login\n success {\n  json ok yes\n }\n}", "is not JSON text"},
		{"unknown criterion", "login_guard {\n event login\n success {\n  html ok\n }\n}", "Caddyfile:5: success: unknown criterion"},
		{"unknown operation field", "login_guard {\n event operation\n operation {\n  order.amout 1\n }\n}", "unknown operation field \"order.amout\""},
		{"operation on login", "login_guard {\n event login\n operation {\n  order.amount 1\n }\n}", "needs event operation"},
		{"channel kind", "login_guard {\n event login\n channel_kind tv\n}", "Caddyfile:4: \"tv\" is not one of web, app"},
		{"audit line", "login_guard {\n event login\n audit_line stdout\n}", "Caddyfile:4: \"stdout\" is not one of own_line, access_log"},
		{"media status", "login_guard {\n event login\n unsupported_media_status 200\n}", "Caddyfile:4: \"200\" must be a whole number from 400 to 499"},
		{"handler args", "login_guard /x extra {\n event login\n}", "Caddyfile:2: wrong argument count"},
		// An empty value would read as the option left out: the route
		// would silently read its default (username, smartid_data, ...).
		{"empty user_field", "login_guard {\n event login\n user_field \"\"\n}", "Caddyfile:4: user_field must not be empty"},
		{"empty device_field", "login_guard {\n event login\n device_field \"\"\n}", "Caddyfile:4: device_field must not be empty"},
		{"empty session_cookie", "login_guard {\n event login\n session_cookie \"\"\n}", "Caddyfile:4: session_cookie must not be empty"},
		{"empty name", "login_guard {\n name \"\"\n event login\n}", "Caddyfile:3: name must not be empty"},
		{"empty upstream_headers", "login_guard {\n event login\n upstream_headers \"\"\n}", "Caddyfile:4: upstream_headers must not be empty"},
		{"empty success cookie", "login_guard {\n event login\n success {\n  cookie \"\"\n }\n}", "Caddyfile:5: cookie must not be empty"},
		{"empty success location", "login_guard {\n event login\n success {\n  location \"\"\n }\n}", "Caddyfile:5: location must not be empty"},
		{"status with signs", "login_guard {\n event login\n success {\n  status +200-+299\n }\n}", "Caddyfile:5: success: invalid status"},
		{"status range with a sign", "login_guard {\n event login\n success {\n  status 200-+299\n }\n}", "Caddyfile:5: success: invalid status range"},
		{"count with a sign", "login_guard {\n event login\n unsupported_media_status +415\n}", "Caddyfile:4: \"+415\" must be a whole number from 400 to 499"},
		{"channel with a sign", "login_guard {\n event login\n channel +2\n}", "Caddyfile:4: channel must be a positive integer"},
		{"ip_prefix with a sign", "login_guard {\n event login\n step_up /verify\n ip_prefix +24\n}", "Caddyfile:5: ip_prefix: \"+24\" must be a prefix length from 8 to 32"},
		{"ip_prefix v6 with a sign", "login_guard {\n event login\n step_up /verify\n ip_prefix 24 +48\n}", "Caddyfile:5: ip_prefix: \"+48\" must be a prefix length from 16 to 128"},
		// An engine named twice would be asked twice per login.
		{"engine named twice", "login_guard {\n event login\n engines sandbox sandbox\n}", "Caddyfile:4: engine \"sandbox\" is named twice"},
		// A password field that is also the user (or device) field would
		// never be read: refused at adapt, at the password_field line.
		{"password field is the user field", "login_guard {\n event login\n password_field username\n}", "Caddyfile:4: login_guard: formbody: field \"username\" is also a password field"},
		{"user field is a password field", "login_guard {\n event login\n user_field password\n}", "Caddyfile:4: login_guard: formbody: field \"password\" is also a password field"},
		{"empty account_id", "login_guard {\n event login\n engines sandbox\n account_id \"\"\n}", "Caddyfile:5: account_id must not be empty"},
		{"empty assertion_field", "login_guard {\n event login\n assertion optional\n assertion_field \"\"\n}", "Caddyfile:5: assertion_field must not be empty"},
		{"empty assertion_header", "login_guard {\n event login\n assertion optional\n assertion_header \"\"\n}", "Caddyfile:5: assertion_header must not be empty"},
		{"empty step_up_cookie_domain", "login_guard {\n event login\n step_up /verify\n step_up_cookie_domain \"\"\n}", "Caddyfile:5: step_up_cookie_domain must not be empty"},
		{"empty step-up route name", "login_guard {\n event step_up\n name \"\"\n}", "Caddyfile:4: name must not be empty"},
		{"empty step-up page_template", "login_guard {\n event step_up\n page_template \"\"\n}", "Caddyfile:4: page_template must not be empty"},
		// A cookie name no Cookie line can carry would never match.
		{"session_cookie not a cookie name", "login_guard {\n event login\n session_cookie portal=1\n}", "Caddyfile:4: session_cookie: \"portal=1\" is not a cookie name"},
		{"session_cookie with a separator", "login_guard {\n event login\n session_cookie \"a;b\"\n}", "Caddyfile:4: session_cookie: \"a;b\" is not a cookie name"},
		{"success cookie not a cookie name", "login_guard {\n event login\n success {\n  cookie \"portal session\"\n }\n}", "Caddyfile:5: cookie: \"portal session\" is not a cookie name"},
		{"password field named later", "login_guard {\n user_field login\n event login\n password_field login pass\n}", "Caddyfile:5: is also a password field"},
		// A value given twice in a list says nothing the first did not.
		{"password field twice", "login_guard {\n event login\n password_field pw pin pw\n}", "Caddyfile:4: password_field: \"pw\" given twice"},
		{"password field twice in another case", "login_guard {\n event login\n password_field pw PW\n}", "Caddyfile:4: login_guard: formbody: password field \"PW\" given twice (names compare ignoring case)"},
		{"step-up host twice", "login_guard {\n event login\n step_up_hosts auth.example.com auth.example.com\n}", "Caddyfile:4: step_up_hosts: \"auth.example.com\" given twice"},
		{"step-up host twice in another case", "login_guard {\n event login\n step_up_hosts auth.example.com Auth.example.com\n step_up https://auth.example.com/verify\n step_up_cookie_domain example.com\n}", "Caddyfile:4: step_up_hosts: \"Auth.example.com\" given twice"},
		// The device field read as the user would hand SmartID the user name.
		{"device field is the default user field", "login_guard {\n event login\n device_field username\n}", "Caddyfile:4: login_guard: formbody: device field \"username\" is the user field"},
		{"device field is the user field", "login_guard {\n device_field login\n event login\n user_field login\n password_field pin\n}", "Caddyfile:3: login_guard: formbody: device field \"login\" is the user field"},
		// A route's name is a metric label, the admin API's id and its
		// counters' prefix.
		{"name with a blank", "login_guard {\n name \"portal login\"\n event login\n}", "Caddyfile:3: name \"portal login\": a route's name (by default its named matcher's) takes ASCII letters, digits, \".\", \"_\" and \"-\" only, not ' '"},
		{"name with a slash", "login_guard {\n name api/login\n event login\n}", "Caddyfile:3: name \"api/login\": a route's name"},
		{"name with a newline", "login_guard {\n name \"login\nv2\"\n event login\n}", "Caddyfile:3: name \"login\\nv2\": a route's name"},
		{"name with a control character", "login_guard {\n name \"login\x7f\"\n event login\n}", "Caddyfile:3: name \"login\\x7f\": a route's name"},
		{"step-up route name with a slash", "login_guard {\n event step_up\n name step/up\n}", "Caddyfile:4: name \"step/up\": a route's name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Line numbers in the table count from the site block's opening line.
			cfg := ":8080 {\n" + c.site + "\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
}

func TestGlobalOptionErrors(t *testing.T) {
	cases := []struct{ name, global, want string }{
		{"unknown option", "login_guard {\n  bogus\n}", "Caddyfile:3: unknown login_guard option \"bogus\""},
		{"smartid missing license", "login_guard {\n  smartid {\n   endpoint https://x\n   channel 1\n  }\n}", "smartid: license is required"},
		{"smartid license unset", "login_guard {\n  smartid {\n   endpoint https://x\n   license {$LG_TEST_UNSET_VAR}\n  }\n}", "Caddyfile:5: smartid: license has no value"},
		{"smartid bad env", "login_guard {\n  smartid {\n   environment staging\n  }\n}", "Caddyfile:4: \"staging\" is not one of production, dev"},
		{"smartid bad channel", "login_guard {\n  smartid {\n   channel zero\n  }\n}", "Caddyfile:4: smartid: channel must be a positive integer"},
		{"smartid channel with a sign", "login_guard {\n  smartid {\n   channel +1\n  }\n}", "Caddyfile:4: smartid: channel must be a positive integer"},
		{"smartid workers", "login_guard {\n  smartid {\n   workers 0\n  }\n}", "Caddyfile:4: \"0\" must be a whole number from 1 to 256"},
		{"smartid linger too long", "login_guard {\n  smartid {\n   linger 200ms\n  }\n}", "Caddyfile:4: \"200ms\" must be a duration from 0s to 100ms"},
		{"smartid linger negative", "login_guard {\n  smartid {\n   linger -1ms\n  }\n}", "Caddyfile:4: \"-1ms\" must be a duration from 0s to 100ms"},
		{"session duration", "login_guard {\n  session {\n   ttl soon\n  }\n}", "Caddyfile:4: ttl: \"soon\" must be a duration from 1s to 87600h0m0s"},
		{"session ttl of a nanosecond", "login_guard {\n  session {\n   ttl 1ns\n  }\n}", "Caddyfile:4: ttl: \"1ns\" must be a duration from 1s to 87600h0m0s"},
		{"session key_rotation over 3650 days", "login_guard {\n  session {\n   key_rotation 3651d\n  }\n}", "Caddyfile:4: key_rotation: \"3651d\" must be a duration from 1s"},
		{"session ttl past a duration's range", "login_guard {\n  session {\n   ttl 2562048h\n  }\n}", "Caddyfile:4: ttl: \"2562048h\" must be a duration from 1s"},
		{"session key_grace of a millisecond", "login_guard {\n  session {\n   key_grace 1ms\n  }\n}", "Caddyfile:4: key_grace: \"1ms\" must be a duration from 1s to 87601h0m0s"},
		// A literal URL is held to its client's rule when adapted, with
		// its line; one with a placeholder when the config loads.
		{"smartid endpoint scheme", "login_guard {\n  smartid {\n   endpoint ftp://x\n  }\n}", "Caddyfile:4: want an absolute http or https URL"},
		{"smartid endpoint credentials", "login_guard {\n  smartid {\n   endpoint https://u:p@x\n  }\n}", "Caddyfile:4: endpoint must not contain credentials"},
		{"loginid fetch_timeout too long", "login_guard {\n  loginid {\n   fetch_timeout 1m\n  }\n}", "Caddyfile:4: fetch_timeout: \"1m\" must be a duration from 100ms to 30s"},
		{"loginid key_url http", "login_guard {\n  loginid {\n   key_url http://x/jwks\n  }\n}", "Caddyfile:4: loginid: key url must be an absolute https URL"},
		{"loginid replay_cache_per_user zero", "login_guard {\n  loginid {\n   mode pem\n   replay_cache_per_user 0\n  }\n}", "Caddyfile:5: \"0\" must be a whole number from 1 to 10000000"},
		{"loginid replay_cache_per_client too big", "login_guard {\n  loginid {\n   mode pem\n   replay_cache_per_client 10000001\n  }\n}", "Caddyfile:5: \"10000001\" must be a whole number from 1 to 10000000"},
		{"forter endpoint scheme", "login_guard {\n  forter {\n   endpoint ftp://x\n  }\n}", "Caddyfile:4: endpoint must be absolute http or https"},
		{"forter endpoint plain http", "login_guard {\n  forter {\n   site_id s\n   api_key k\n   endpoint http://forter.example.com\n  }\n}", "Caddyfile:6: endpoint: plain http would send the API key in the clear"},
		{"smartid endpoint plain http", "login_guard {\n  smartid {\n   endpoint http://smartid.example.com\n   license l\n  }\n}", "Caddyfile:4: smartid: config: endpoint \"http://smartid.example.com\": plain http would send the license in the clear"},
		{"http engine url", "login_guard {\n  http scorer {\n   url /score\n  }\n}", "Caddyfile:4: url must be absolute http or https"},
		// Refused at adapt with the line, not only at validate.
		{"two engines named alike", "login_guard {\n  http scoring {\n   url https://a.example\n  }\n  http scoring {\n   url https://b.example\n  }\n}", "Caddyfile:6: two engines are named \"scoring\""},
		{"two unnamed sandboxes", "login_guard {\n  sandbox\n  sandbox\n}", "Caddyfile:4: two engines are named \"sandbox\""},
		{"two unnamed forters", "login_guard {\n  forter {\n   site_id s\n   api_key k\n  }\n  forter {\n   site_id t\n   api_key l\n  }\n}", "Caddyfile:7: two engines are named \"forter\""},
		{"http engine bad header", "login_guard {\n  http scoring {\n   url https://a.example\n   header \"Bad Header\" x\n  }\n}", "Caddyfile:5: http engine: header name \"Bad Header\" is invalid"},
		{"http engine forbidden header", "login_guard {\n  http scoring {\n   url https://a.example\n   header host x\n  }\n}", "Caddyfile:5: http engine: header Host is set by the client"},
		{"key_grace below ttl", "login_guard {\n  session {\n   ttl 24h\n   key_grace 1h\n  }\n}", "Caddyfile:5: session: key_grace must be at least ttl"},
		{"key_grace below the default ttl", "login_guard {\n  session {\n   key_grace 1h\n  }\n}", "Caddyfile:4: session: key_grace must be at least ttl"},
		{"smartid license not a header value", "login_guard {\n  smartid {\n   license \"abc def\"\n  }\n}", "Caddyfile:4: license contains characters not allowed in an HTTP header"},
		{"smartid queue_size too large", "login_guard {\n  smartid {\n   queue_size 1048577\n  }\n}", "Caddyfile:4: \"1048577\" must be a whole number from 1 to 1048576"},
		{"breaker failures with a sign", "login_guard {\n  breaker {\n   failures +5\n  }\n}", "Caddyfile:4: \"+5\" must be a whole number from 1 to 1000"},
		{"smileid limit with a sign", "login_guard {\n  smileid {\n   user_limit +5 1h\n  }\n}", "Caddyfile:4: smileid: \"+5\" must be a whole number from 0 to 1000000"},
		// An empty value reads as the option left out (its default, or a
		// check turned off): refused at its line, as on a route.
		{"empty pages portal_name", "login_guard {\n  pages {\n   portal_name \"\"\n  }\n}", "Caddyfile:4: portal_name must not be empty"},
		{"empty pages logo", "login_guard {\n  pages {\n   logo \"\"\n  }\n}", "Caddyfile:4: logo must not be empty"},
		{"empty pages sign_in_url", "login_guard {\n  pages {\n   sign_in_url \"\"\n  }\n}", "Caddyfile:4: sign_in_url must not be empty"},
		{"empty pages help_url", "login_guard {\n  pages {\n   help_url \"\"\n  }\n}", "Caddyfile:4: help_url must not be empty"},
		{"empty pages help_text", "login_guard {\n  pages {\n   help_text \"\"\n  }\n}", "Caddyfile:4: help_text must not be empty"},
		{"empty pages lang", "login_guard {\n  pages {\n   lang \"\"\n  }\n}", "Caddyfile:4: lang must not be empty"},
		{"empty pages dir", "login_guard {\n  pages {\n   dir \"\"\n  }\n}", "Caddyfile:4: dir must not be empty"},
		{"empty store redis username", "login_guard {\n  store redis {\n   address 127.0.0.1:6379\n   username \"\"\n  }\n}", "Caddyfile:5: username must not be empty"},
		{"empty store redis password", "login_guard {\n  store redis {\n   address 127.0.0.1:6379\n   password \"\"\n  }\n}", "Caddyfile:5: password must not be empty"},
		{"empty store redis prefix", "login_guard {\n  store redis {\n   address 127.0.0.1:6379\n   prefix \"\"\n  }\n}", "Caddyfile:5: prefix must not be empty"},
		{"empty loginid region", "login_guard {\n  loginid {\n   region \"\"\n  }\n}", "Caddyfile:4: region must not be empty"},
		{"empty loginid client_id", "login_guard {\n  loginid {\n   client_id \"\"\n  }\n}", "Caddyfile:4: client_id must not be empty"},
		{"empty loginid issuer", "login_guard {\n  loginid {\n   issuer \"\"\n  }\n}", "Caddyfile:4: issuer must not be empty"},
		{"empty loginid namespace", "login_guard {\n  loginid {\n   namespace \"\"\n  }\n}", "Caddyfile:4: namespace must not be empty"},
		{"empty loginid user_claim", "login_guard {\n  loginid {\n   user_claim \"\"\n  }\n}", "Caddyfile:4: user_claim must not be empty"},
		{"empty loginid type_claim", "login_guard {\n  loginid {\n   type_claim \"\"\n  }\n}", "Caddyfile:4: type_claim must not be empty"},
		{"empty loginid namespace_claim", "login_guard {\n  loginid {\n   namespace_claim \"\"\n  }\n}", "Caddyfile:4: namespace_claim must not be empty"},
		{"empty loginid nonce_claim", "login_guard {\n  loginid {\n   nonce_claim \"\"\n  }\n}", "Caddyfile:4: nonce_claim must not be empty"},
		{"empty loginid trust_pem", "login_guard {\n  loginid {\n   trust_pem \"\"\n  }\n}", "Caddyfile:4: trust_pem must not be empty"},
		{"empty passkeys rp_id", "login_guard {\n  passkeys {\n   rp_id \"\"\n  }\n}", "Caddyfile:4: rp_id must not be empty"},
		{"empty passkeys rp_name", "login_guard {\n  passkeys {\n   rp_name \"\"\n  }\n}", "Caddyfile:4: rp_name must not be empty"},
		{"empty smileid partner_id", "login_guard {\n  smileid {\n   partner_id \"\"\n  }\n}", "Caddyfile:4: partner_id must not be empty"},
		{"empty smileid trust_pem", "login_guard {\n  smileid {\n   trust_pem \"\"\n  }\n}", "Caddyfile:4: trust_pem must not be empty"},
		{"empty forter api_version", "login_guard {\n  forter {\n   api_version \"\"\n  }\n}", "Caddyfile:4: api_version must not be empty"},
		{"empty forter token_cookie", "login_guard {\n  forter {\n   token_cookie \"\"\n  }\n}", "Caddyfile:4: token_cookie must not be empty"},
		{"empty forter login_method_type", "login_guard {\n  forter {\n   login_method_type \"\"\n  }\n}", "Caddyfile:4: login_method_type must not be empty"},
		{"empty forter channel_type", "login_guard {\n  forter {\n   channel_type \"\"\n  }\n}", "Caddyfile:4: channel_type must not be empty"},
		{"empty forter auth_result_key", "login_guard {\n  forter {\n   auth_result_key \"\"\n  }\n}", "Caddyfile:4: auth_result_key must not be empty"},
		// key_url and region: one would be ignored.
		{"loginid key_url and region", "login_guard {\n  loginid {\n   mode pem\n   client_id c\n   key_url https://jwt.example.com/certs\n   region usw1\n  }\n}", "loginid: give key_url or region, not both"},
		{"loginid region with jwks", "login_guard {\n  loginid {\n   mode jwks\n   client_id c\n   region usw1\n  }\n}", "loginid: region is for mode pem"},
		{"empty store redis tls server_name", "login_guard {\n  store redis {\n   address 127.0.0.1:6379\n   tls {\n    server_name \"\"\n   }\n  }\n}", "Caddyfile:6: server_name must not be empty"},
		{"empty store redis tls ca_file", "login_guard {\n  store redis {\n   address 127.0.0.1:6379\n   tls {\n    ca_file \"\"\n   }\n  }\n}", "Caddyfile:6: ca_file must not be empty"},
		{"empty forter name", "login_guard {\n  forter \"\" {\n   site_id s\n   api_key k\n  }\n}", "Caddyfile:3: forter: the engine name must not be empty"},
		{"empty sandbox name", "login_guard {\n  sandbox \"\"\n}", "Caddyfile:3: sandbox: the engine name must not be empty"},
		{"empty http engine name", "login_guard {\n  http \"\" {\n   url https://a.example\n  }\n}", "Caddyfile:3: http engine: a name is required"},
		// A value given twice in a list says nothing the first did not.
		{"rp_origin twice", "login_guard {\n  passkeys {\n   rp_id example.com\n   rp_origin https://example.com https://login.example.com https://example.com\n  }\n}", "Caddyfile:5: rp_origin: \"https://example.com\" given twice"},
		{"allowed_reasons twice", "login_guard {\n  http scoring {\n   url https://a.example\n   allowed_reasons velocity velocity\n  }\n}", "Caddyfile:5: allowed_reasons: \"velocity\" given twice"},
		{"authentication_types twice", "login_guard {\n  loginid {\n   authentication_types fido2_login fido2_login\n  }\n}", "Caddyfile:4: authentication_types: \"fido2_login\" given twice"},
		{"registration_types twice", "login_guard {\n  loginid {\n   registration_types fido2_register fido2_register\n  }\n}", "Caddyfile:4: registration_types: \"fido2_register\" given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "{\n " + c.global + "\n}\n:8080 {\n respond ok\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
}

// TestURLPlaceholderCheckedAtLoad: a URL option holding a placeholder is
// left alone by the adapter (its value is known only when the config
// loads) and held to the same rule then.
func TestURLPlaceholderCheckedAtLoad(t *testing.T) {
	t.Setenv("LG_TEST_SMARTID_URL", "ftp://x")
	cfg := "{\n login_guard {\n  smartid {\n   endpoint {env.LG_TEST_SMARTID_URL}\n   license l\n   channel 1\n  }\n }\n}\n:8080 {\n respond ok\n}\n"
	raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapt refused a placeholder URL: %v", err)
	}
	err = caddy.Validate(caddytest.MustConfig(t, raw))
	if err == nil || !strings.Contains(err.Error(), "want an absolute http or https URL") {
		t.Fatalf("validate: %v, want the endpoint refused", err)
	}
}

// TestPasskeysOriginOffTheRPID: an rp_origin whose host is neither the
// rp_id nor below it is refused when the config loads (browsers refuse
// every ceremony there, so no passkey could be registered or used).
func TestPasskeysOriginOffTheRPID(t *testing.T) {
	cfg := func(origins string) string {
		return "{\n\tlogin_guard {\n\t\tpasskeys {\n\t\t\trp_id example.com\n\t\t\trp_origin " + origins + "\n\t\t}\n\t}\n}\n:8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t}\n}\n"
	}
	checkAdaptErr(t, caddytest.ValidateCaddyfile(t, cfg("https://example.com https://evil.example")), `passkeys: rp_origin "https://evil.example" is not on rp_id example.com or below it`)
	checkAdaptErr(t, caddytest.ValidateCaddyfile(t, cfg("https://badexample.com")), `passkeys: rp_origin "https://badexample.com" is not on rp_id example.com`)
	if err := caddytest.ValidateCaddyfile(t, cfg("https://example.com https://login.Example.com:8443")); err != nil {
		t.Fatalf("origins on the rp_id: %v", err)
	}
}

// checkAdaptErr accepts want as "Caddyfile:N: message" (the message and
// the line must both be in the error) or as a bare message.
func checkAdaptErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", want)
	}
	msg, line := want, ""
	if rest, ok := strings.CutPrefix(want, "Caddyfile:"); ok {
		n, m, _ := strings.Cut(rest, ": ")
		msg, line = m, "at Caddyfile:"+n
	}
	if !strings.Contains(err.Error(), msg) || (line != "" && !strings.Contains(err.Error(), line)) {
		t.Fatalf("want error containing %q (%s), got %v", msg, line, err)
	}
}
