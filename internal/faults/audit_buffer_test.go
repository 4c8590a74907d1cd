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

// TestBufferedAuditLogChangedAtReload: a reload that changes the buffered
// output (another flush_interval) starts a new buffer; Caddy does not
// close the old one, whose block still reaches the file when its own
// interval ends, and the stop writes the new one's.
func TestBufferedAuditLogChangedAtReload(t *testing.T) {
	pt := newPortal(t)
	cfg := func(interval string) string {
		c := guardConfig(pt.URL, "", "", "")
		return strings.Replace(c, "\tstorage file_system", `	log audit {
		include http.handlers.login_guard
		output buffered {
			flush_interval `+interval+`
			output file {{dir}}/audit.log {
				roll_disabled
			}
		}
	}
	storage file_system`, 1)
	}
	p := caddyproc.Start(t, cfg("2s"), caddyproc.Options{})
	file := filepath.Join(p.Dir, "audit.log")
	c, base := client(5*time.Second), p.URL("http")
	send := func(prefix string, n int) {
		for i := range n {
			if r := login(c, base, fmt.Sprintf("%s-%d", prefix, i)); r.status != 303 {
				t.Fatalf("login: %d %v", r.status, r.err)
			}
		}
	}
	users := func() map[string]bool {
		b, _ := os.ReadFile(file)
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			var line struct{ Msg, User string }
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "login_guard" {
				got[line.User] = true
			}
		}
		return got
	}
	send("old", 4)
	if err := p.Reload(cfg("1m")); err != nil {
		t.Fatal(err)
	}
	send("new", 4)
	waitFor(t, 10*time.Second, "the old buffer's block", func() bool { return len(users()) >= 4 })
	got := users()
	for i := range 4 {
		if !got[fmt.Sprintf("old-%d", i)] || got[fmt.Sprintf("new-%d", i)] {
			t.Fatalf("before the stop the file holds %v: want the old buffer's four lines only", got)
		}
	}
	if err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if got := users(); len(got) != 8 {
		t.Fatalf("after the stop the file holds %d audit lines, want 8: %v", len(got), got)
	}
}
