//go:build faults && unix

package faults

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
)

// keysBound is how long a start waits for the storage to answer its read
// of the key material (caddymodule/app keysWait).
const keysBound = 20 * time.Second

// TestKeysThatHangFailTheStart: when the storage does not answer the
// read of login_guard/keys.json (a FIFO there stands for a stuck network
// mount), a reload is refused within the bound, naming the key, and the
// running config keeps serving; the process still stops on SIGTERM; and
// `caddy run` on that storage exits with the error instead of hanging.
func TestKeysThatHangFailTheStart(t *testing.T) {
	pt := newPortal(t)
	cfg := guardConfig(pt.URL, "", "", "")
	p := caddyproc.Start(t, cfg, caddyproc.Options{})
	keys := filepath.Join(p.Dir, "storage", "login_guard", "keys.json")
	if err := os.Remove(keys); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(keys, 0o600); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	err := p.Reload(cfg)
	if took := time.Since(began); took > 3*keysBound {
		t.Fatalf("the reload took %v (bound %v)", took, keysBound)
	}
	if err == nil || !strings.Contains(err.Error(), "login_guard/keys.json") {
		t.Fatalf("a reload whose keys hang: %v, want it refused naming login_guard/keys.json", err)
	}
	c := client(5 * time.Second)
	if r := login(c, p.URL("http"), "u"); r.status != http.StatusSeeOther {
		t.Fatalf("the running config after the refused reload: %d %v", r.status, r.err)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM after a start whose keys hung: %v", err)
	}

	// A fresh start on that storage: the same Caddyfile, expanded.
	cmd := caddyproc.Command(t, "run", "--config", filepath.Join(p.Dir, "Caddyfile"), "--adapter", "caddyfile")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(3 * keysBound):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("caddy run still starting after %v on a storage whose keys hang:\n%s", 3*keysBound, out.String())
	}
	if err == nil || !strings.Contains(out.String(), "login_guard/keys.json") {
		t.Fatalf("caddy run on a storage whose keys hang: %v, want it to exit naming login_guard/keys.json:\n%s", err, out.String())
	}
}
