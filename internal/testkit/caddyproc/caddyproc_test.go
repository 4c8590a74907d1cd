package caddyproc_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
)

func TestMain(m *testing.M) {
	caddyproc.MaybeRunAsCaddy()
	os.Exit(m.Run())
}

// fresh sends every request on a new connection: one kept alive from
// before a reload belongs to the old server, which may still answer it
// (with the old config) while it drains, or close it unanswered.
var fresh = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// get answers a GET, on a new connection (see fresh). Right after a
// reload a connection may still end without an answer; a GET may be sent
// again, so it is, for a few seconds.
func get(t *testing.T, url string) string {
	t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var resp *http.Response
		if resp, err = fresh.Get(url); err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	t.Fatal(err)
	return ""
}

// TestStartReloadRestartStop drives one process through its whole life and
// checks that each step is the one that answered.
func TestStartReloadRestartStop(t *testing.T) {
	const cfg = `{
	admin {{admin}}
	auto_https off
}
http://127.0.0.1:{{port.site}} {
	respond "%s"
}
`
	p := caddyproc.Start(t, strings.Replace(cfg, "%s", "first", 1), caddyproc.Options{})
	if got := get(t, p.URL("site")); got != "first" {
		t.Fatalf("first config answered %q", got)
	}
	if err := p.Reload(strings.Replace(cfg, "%s", "second", 1)); err != nil {
		t.Fatal(err)
	}
	if got := get(t, p.URL("site")); got != "second" {
		t.Fatalf("reloaded config answered %q", got)
	}
	if err := p.Restart(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := get(t, p.URL("site")); got != "second" {
		t.Fatalf("restarted process answered %q", got)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Log())
	}
	var shutdown bool
	for _, l := range p.LogLines() {
		if l["msg"] == "shutting down apps, then terminating" {
			shutdown = true
		}
	}
	if !shutdown {
		t.Fatalf("no shutdown line in the log:\n%s", p.Log())
	}
	if _, err := fresh.Get(p.URL("site")); err == nil {
		t.Fatal("the stopped process still answers")
	}
}
