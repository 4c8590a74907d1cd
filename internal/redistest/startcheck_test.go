//go:build redis

package redistest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/ports"
	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// runCaddyExpectingFailure runs Caddy (this test binary) on caddyfile and
// returns its output once it exits; it must exit within the timeout.
func runCaddyExpectingFailure(t *testing.T, caddyfile string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "LOGIN_GUARD_TEST_RUN_AS_CADDY=1", "HOME="+dir)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("Caddy kept running:\n%s", out)
	}
	if err == nil {
		t.Fatalf("Caddy exited cleanly, want a refusal:\n%s", out)
	}
	return string(out)
}

func TestStartRefusals(t *testing.T) {
	srv := redisproc.Start(t)
	port, err := ports.Pick()
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(storage string) string {
		return fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlogin_guard {\n\t\tstore redis {\n\t\t\taddress %s\n\t\t}\n\t}\n}\nhttp://127.0.0.1:%d {\n\tlogin_guard /login {\n\t\tevent login\n\t\trate ip 5/1m deny\n\t}\n\trespond ok\n}\n", storage, srv.Addr(), port)
	}
	// A first instance records its key fingerprint.
	p := caddyproc.Start(t, strings.Replace(cfg(t.TempDir()), "admin off", "admin {{admin}}", 1), caddyproc.Options{})
	_ = p.Stop(10 * time.Second)

	t.Run("other key material", func(t *testing.T) {
		out := runCaddyExpectingFailure(t, cfg(t.TempDir()))
		if !strings.Contains(out, "must share Caddy storage") {
			t.Fatalf("no fingerprint refusal:\n%s", out)
		}
	})
	t.Run("evicting policy", func(t *testing.T) {
		if _, err := srv.Do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"); err != nil {
			t.Fatal(err)
		}
		defer srv.Do("CONFIG", "SET", "maxmemory-policy", "noeviction")
		out := runCaddyExpectingFailure(t, cfg(t.TempDir()))
		if !strings.Contains(out, "requires noeviction") {
			t.Fatalf("no maxmemory-policy refusal:\n%s", out)
		}
	})
}

// TestStartsThroughARedisOutage: a Redis that cannot be reached when Caddy
// starts does not keep Caddy (every site on it) down. The guarded route
// applies on_store_failure (deny by default) while Redis is away, and
// counts in Redis once it answers, with no reload.
func TestStartsThroughARedisOutage(t *testing.T) {
	srv := redisproc.Start(t)
	srv.Stop()
	caddyfile := fmt.Sprintf("{\n\tadmin {{admin}}\n\tauto_https off\n\tstorage file_system {{dir}}/storage\n\tlogin_guard {\n\t\tstore redis {\n\t\t\taddress %s\n\t\t\ttimeout 300ms\n\t\t}\n\t}\n}\nhttp://127.0.0.1:{{port.site}} {\n\tlogin_guard /login {\n\t\tevent login\n\t\trate ip 2/1m deny\n\t}\n\trespond ok\n}\n", srv.Addr())
	p := caddyproc.Start(t, caddyfile, caddyproc.Options{})
	defer func() { _ = p.Stop(10 * time.Second) }()
	login := func() int {
		resp, err := http.Post(p.URL("site")+"/login", "application/x-www-form-urlencoded", strings.NewReader("username=alice&password=x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := login(); code != http.StatusForbidden {
		t.Fatalf("with Redis away: %d, want on_store_failure's deny", code)
	}
	if !strings.Contains(p.Log(), "redis store unreachable at start") {
		t.Fatalf("the start does not say Redis was away:\n%s", p.Log())
	}
	srv.Restart()
	if err := p.WaitLog(func(l map[string]any) bool {
		return l["msg"] == "redis store reachable: guard state is shared from now on"
	}, 15*time.Second); err != nil {
		t.Fatalf("never bound once Redis answered: %v\n%s", err, p.Log())
	}
	if codes := fmt.Sprint(login(), login(), login()); codes != "200 200 429" {
		t.Fatalf("once Redis answers: %s, want the rate rule counting in it", codes)
	}
}
