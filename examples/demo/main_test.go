package main

import (
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
)

// TestSiteURL: the "ready" line names the address the config serves, not
// a fixed :8080 (a -config on another port was told the wrong URL).
func TestSiteURL(t *testing.T) {
	for _, c := range []struct{ caddyfile, want string }{
		{":8080 {\n\trespond ok\n}\n", "http://localhost:8080"},
		{":18500 {\n\trespond ok\n}\n", "http://localhost:18500"},
	} {
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(c.caddyfile), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := siteURL(cfg); got != c.want {
			t.Errorf("%q: %s, want %s", c.caddyfile, got, c.want)
		}
	}
	// The demo's own Caddyfile.
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(mustRead(t, "../../Caddyfile"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := siteURL(cfg); got != "http://localhost:8080" {
		t.Errorf("the demo's Caddyfile: %s", got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
