//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
)

// TestBufferedAuditLogAtReloadAndStop: the guard's audit lines go to a
// file through `output buffered` with a long interval, so while Caddy runs
// they stay in memory. A reload with the same log config keeps the same
// writer (and its lines); the new config's logins join them; a graceful
// stop (SIGTERM) writes every one, whole, once.
func TestBufferedAuditLogAtReloadAndStop(t *testing.T) {
	pt := newPortal(t)
	cfg := func(name string) string {
		c := guardConfig(pt.URL, "", "", "\t\tname "+name)
		return strings.Replace(c, "\tstorage file_system", `	log audit {
		include http.handlers.login_guard
		output buffered {
			flush_interval 1m
			output file {{dir}}/audit.log {
				roll_disabled
			}
		}
	}
	storage file_system`, 1)
	}
	p := caddyproc.Start(t, cfg("first"), caddyproc.Options{})
	file := filepath.Join(p.Dir, "audit.log")
	c, base := client(5*time.Second), p.URL("http")
	users := map[string]string{}
	send := func(route string, n int) {
		for i := range n {
			u := fmt.Sprintf("%s-%d", route, i)
			if r := login(c, base, u); r.status != 303 {
				t.Fatalf("login %s: %d %v", u, r.status, r.err)
			}
			users[u] = route
		}
	}
	send("first", 5)
	if err := p.Reload(cfg("second")); err != nil {
		t.Fatal(err)
	}
	send("second", 5)
	if b, _ := os.ReadFile(file); len(b) != 0 {
		t.Fatalf("audit lines reached the file before the block was due: %q", b)
	}
	if n := len(audit(p)); n != 0 {
		t.Fatalf("%d audit lines went to the default log too", n)
	}
	if err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	got := map[string]string{}
	for _, l := range lines {
		var line struct{ Msg, Route, User string }
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("not a whole log line: %q (%v)", l, err)
		}
		if line.Msg != "login_guard" {
			continue // the handler's notes at provision share its logger
		}
		if _, dup := got[line.User]; dup {
			t.Errorf("%s logged twice", line.User)
		}
		got[line.User] = line.Route
	}
	if len(got) != len(users) {
		t.Fatalf("%d audit lines after the stop, want %d:\n%s", len(got), len(users), b)
	}
	for u, route := range users {
		if got[u] != route {
			t.Errorf("%s: route %q, want %q", u, got[u], route)
		}
	}
}
