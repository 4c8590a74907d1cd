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

// bufferedAuditConfig is guardConfig with the guard's lines routed to
// {{dir}}/audit.log through `output buffered` with the given interval.
func bufferedAuditConfig(portalURL, extraLogin, interval string) string {
	return strings.Replace(guardConfig(portalURL, "", "", extraLogin), "\tstorage file_system", `	log audit {
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

// auditFileLine is what the tests read of a line in the audit file.
type auditFileLine struct{ Msg, Route, User string }

// readAuditFile returns the audit lines (msg login_guard) of file, and the
// lines that are not whole JSON. The handler's notes at provision share
// its logger and are skipped.
func readAuditFile(file string) (audit []auditFileLine, broken []string) {
	b, _ := os.ReadFile(file)
	if len(b) == 0 {
		return nil, nil
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var line auditFileLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			broken = append(broken, l)
			continue
		}
		if line.Msg == "login_guard" {
			audit = append(audit, line)
		}
	}
	return audit, broken
}

// sendLogins sends n logins as <prefix>-<i>, each expected to pass (303).
func sendLogins(t *testing.T, p *caddyproc.Proc, prefix string, n int) {
	t.Helper()
	c, base := client(5*time.Second), p.URL("http")
	for i := range n {
		u := fmt.Sprintf("%s-%d", prefix, i)
		if r := login(c, base, u); r.status != 303 {
			t.Fatalf("login %s: %d %v", u, r.status, r.err)
		}
	}
}

// TestBufferedAuditLogAtReloadAndStop: the guard's audit lines go to a
// file through `output buffered` with a long interval, so while Caddy runs
// they stay in memory. A reload with the same log config keeps the same
// writer (and its lines); the new config's logins join them; a graceful
// stop (SIGTERM) writes every one, whole, once.
func TestBufferedAuditLogAtReloadAndStop(t *testing.T) {
	pt := newPortal(t)
	cfg := func(name string) string { return bufferedAuditConfig(pt.URL, "\t\tname "+name, "1m") }
	p := caddyproc.Start(t, cfg("first"), caddyproc.Options{})
	file := filepath.Join(p.Dir, "audit.log")
	sendLogins(t, p, "first", 5)
	reloaded(t, p, cfg("second"))
	sendLogins(t, p, "second", 5)
	// The handler's notes at provision went straight out (a config that
	// is not running yet writes through, see TestBufferedLogKeepsRefusals);
	// the audit lines, logged while it runs, wait.
	if lines, _ := readAuditFile(file); len(lines) != 0 {
		t.Fatalf("audit lines reached the file before the block was due: %v", lines)
	}
	if n := len(audit(p)); n != 0 {
		t.Fatalf("%d audit lines went to the default log too", n)
	}
	if err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	lines, broken := readAuditFile(file)
	if len(broken) > 0 {
		t.Fatalf("not whole log lines: %q", broken)
	}
	got := map[string]string{}
	for _, line := range lines {
		if _, dup := got[line.User]; dup {
			t.Errorf("%s logged twice", line.User)
		}
		got[line.User] = line.Route
	}
	if len(got) != 10 {
		t.Fatalf("%d audit lines after the stop, want 10: %v", len(got), lines)
	}
	for _, route := range []string{"first", "second"} {
		for i := range 5 {
			if u := fmt.Sprintf("%s-%d", route, i); got[u] != route {
				t.Errorf("%s: route %q, want %q", u, got[u], route)
			}
		}
	}
}

// TestBufferedAuditLogChangedAtReload: a reload that changes the buffered
// output (another flush_interval) starts a new buffer; Caddy does not
// close the old one, whose block still reaches the file when its own
// interval ends, and the stop writes the new one's.
func TestBufferedAuditLogChangedAtReload(t *testing.T) {
	pt := newPortal(t)
	p := caddyproc.Start(t, bufferedAuditConfig(pt.URL, "", "2s"), caddyproc.Options{})
	file := filepath.Join(p.Dir, "audit.log")
	users := func() map[string]bool {
		// A block being written may be read half: only whole lines count.
		lines, _ := readAuditFile(file)
		got := map[string]bool{}
		for _, line := range lines {
			got[line.User] = true
		}
		return got
	}
	sendLogins(t, p, "old", 4)
	reloaded(t, p, bufferedAuditConfig(pt.URL, "", "1m"))
	sendLogins(t, p, "new", 4)
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

// TestBufferedLogKeepsRefusals: a config whose default log goes through
// `output buffered` and that Caddy refuses, at `caddy validate` and at
// `caddy run`, still leaves its error in the log file. Caddy logs the
// refusal through the config's own logs and exits at once, with no exit
// hook to write a block out, so the output writes straight through until
// a config runs.
func TestBufferedLogKeepsRefusals(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "caddy.log")
	// Forter before the upstream without saying so is refused.
	cfg := `{
	admin off
	log {
		output buffered {
			output file ` + logFile + ` {
				roll_disabled
			}
		}
	}
	login_guard {
		forter {
			site_id s1
			api_key k1
		}
	}
}
http://127.0.0.1:0 {
	login_guard {
		event login
		engines forter
	}
	respond ok
}
`
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"validate", "run"} {
		_ = os.Remove(logFile)
		cmd := caddyproc.Command(t, sub, "--config", file, "--adapter", "caddyfile")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("caddy %s accepted the config:\n%s", sub, out)
		}
		b, _ := os.ReadFile(logFile)
		if !strings.Contains(string(b), `"level":"error"`) || !strings.Contains(string(b), "evaluate after_upstream") {
			t.Fatalf("caddy %s: the refusal is not in the log file:\n%s\n--- the process said:\n%s", sub, b, out)
		}
	}
}
