package main

import (
	"errors"
	"net"
	"os"
	"strings"
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

// TestFailureNamesABusyAddress: a portal address another program holds
// fails the demo with the reason and what to do, not a log line at level
// info.
func TestFailureNamesABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run("../../Caddyfile", ln.Addr().String(), t.TempDir(), "", false)
	if err == nil {
		t.Fatal("the demo ran on a busy portal address")
	}
	msg := failure(err)
	if !strings.Contains(msg, "demo: portal: listen tcp "+ln.Addr().String()) || !strings.Contains(msg, "choose other addresses (-portal") {
		t.Errorf("busy portal address: %q", msg)
	}
	// Caddy's own listen error is text only.
	if msg := failure(errors.New("loading new config: http app module: start: listening on :8080: listen tcp :8080: bind: address already in use")); !strings.Contains(msg, "-config with a Caddyfile of your own") {
		t.Errorf("busy site address: %q", msg)
	}
	if msg := failure(errors.New("open Caddyfile: no such file or directory")); strings.Contains(msg, "another program") {
		t.Errorf("a missing file: %q", msg)
	}
}
