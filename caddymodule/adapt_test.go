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
		{"media status", "login_guard {\n event login\n unsupported_media_status 200\n}", "Caddyfile:4: \"200\" must be a whole number from 400 to 499"},
		{"handler args", "login_guard /x extra {\n event login\n}", "Caddyfile:2: wrong argument count"},
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
		{"smartid workers", "login_guard {\n  smartid {\n   workers 0\n  }\n}", "Caddyfile:4: \"0\" must be a whole number from 1 to 256"},
		{"smartid linger too long", "login_guard {\n  smartid {\n   linger 200ms\n  }\n}", "Caddyfile:4: \"200ms\" must be a duration from 0s to 100ms"},
		{"smartid linger negative", "login_guard {\n  smartid {\n   linger -1ms\n  }\n}", "Caddyfile:4: \"-1ms\" must be a duration from 0s to 100ms"},
		{"session duration", "login_guard {\n  session {\n   ttl soon\n  }\n}", "Caddyfile:4: invalid duration"},
		// A literal URL is held to its client's rule when adapted, with
		// its line; one with a placeholder when the config loads.
		{"smartid endpoint scheme", "login_guard {\n  smartid {\n   endpoint ftp://x\n  }\n}", "Caddyfile:4: want an absolute http or https URL"},
		{"smartid endpoint credentials", "login_guard {\n  smartid {\n   endpoint https://u:p@x\n  }\n}", "Caddyfile:4: endpoint must not contain credentials"},
		{"loginid key_url http", "login_guard {\n  loginid {\n   key_url http://x/jwks\n  }\n}", "Caddyfile:4: loginid: key url must be an absolute https URL"},
		{"forter endpoint scheme", "login_guard {\n  forter {\n   endpoint ftp://x\n  }\n}", "Caddyfile:4: endpoint must be absolute http or https"},
		{"http engine url", "login_guard {\n  http scorer {\n   url /score\n  }\n}", "Caddyfile:4: url must be absolute http or https"},
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
