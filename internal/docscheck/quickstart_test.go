package docscheck

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/examples/portal"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// quickStart returns the README's quick start: its one Caddyfile and the
// text of its shell blocks.
func quickStart(t *testing.T) (caddyfile string, shell string) {
	t.Helper()
	for _, f := range readFences(t, "README.md") {
		if !strings.HasPrefix(strings.ToLower(f.section), "quick start") {
			continue
		}
		switch f.lang {
		case "caddyfile":
			if caddyfile != "" {
				t.Fatal("the quick start has more than one Caddyfile")
			}
			caddyfile = f.body
		case "sh":
			shell += f.body
		}
	}
	if caddyfile == "" {
		t.Fatal("README.md has no quick start Caddyfile (a ```caddyfile fence under a '## Quick start' heading)")
	}
	return caddyfile, shell
}

// TestQuickStartFromCleanHome follows the README's quick start as a new
// user would, in a fresh HOME: the example portal on its own, the quick
// start's Caddyfile validated and run by a separate Caddy process, and the
// requests the quick start shows, with the answers it promises. It also
// checks that the guard's state lands where docs/operations.md says.
func TestQuickStartFromCleanHome(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Caddy process")
	}
	caddyfile, shell := quickStart(t)
	for _, cmd := range []string{"caddy validate --config Caddyfile", "caddy run --config Caddyfile", "-portal-only"} {
		if !strings.Contains(shell, cmd) {
			t.Fatalf("the quick start no longer shows %q; update this test with it", cmd)
		}
	}

	// The example portal, as `go run ./examples/demo -portal-only` serves it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: portal.New().Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// The quick start's Caddyfile with this machine's free ports: its site
	// (:8080), its upstream (127.0.0.1:9000) and Caddy's admin endpoint.
	sitePort, adminPort := strconv.Itoa(ports.Free(t)), strconv.Itoa(ports.Free(t))
	for _, want := range []string{":8080 {", "127.0.0.1:9000"} {
		if !strings.Contains(caddyfile, want) {
			t.Fatalf("the quick start Caddyfile has no %q; update this test", want)
		}
	}
	cfg := strings.Replace(caddyfile, ":8080 {", ":"+sitePort+" {", 1)
	cfg = strings.ReplaceAll(cfg, "127.0.0.1:9000", ln.Addr().String())
	if strings.HasPrefix(cfg, "{\n") {
		t.Fatal("the quick start Caddyfile now has a global block; merge the admin address into it here")
	}
	cfg = "{\n\tadmin localhost:" + adminPort + "\n}\n\n" + cfg

	work, home := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "Caddyfile"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	caddy := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Dir = work
		// A clean environment: nothing of the developer's HOME or XDG dirs.
		cmd.Env = []string{asCaddy + "=1", "HOME=" + home, "PATH=" + os.Getenv("PATH")}
		return cmd
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := caddy(ctx, "validate", "--config", "Caddyfile").CombinedOutput(); err != nil {
		t.Fatalf("caddy validate --config Caddyfile: %v\n%s", err, out)
	}

	run := caddy(ctx, "run", "--config", "Caddyfile")
	var log syncBuffer
	run.Stdout, run.Stderr = &log, &log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = run.Process.Kill()
		_ = run.Wait()
		if t.Failed() {
			t.Logf("caddy's log:\n%s", log.String())
		}
	})

	site := "http://127.0.0.1:" + sitePort
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	post := func(user, pass string) *http.Response {
		t.Helper()
		resp, err := client.PostForm(site+"/api/login", url.Values{"username": {user}, "password": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(site + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy run did not serve %s within a minute: %v", site, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A good login: the portal's redirect, and the guard's session cookie.
	resp := post("alice", "wonderland")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("alice's login: %d, Location %q; want 303 to /account", resp.StatusCode, resp.Header.Get("Location"))
	}
	var guardCookie bool
	for _, c := range resp.Cookies() {
		guardCookie = guardCookie || c.Name == "login_guard"
	}
	if !guardCookie {
		t.Errorf("alice's login set no login_guard session cookie: %v", resp.Header["Set-Cookie"])
	}

	// Five guesses: the rate rule (5 per minute per address) refuses the
	// sixth attempt of the minute with 429 and Retry-After.
	var codes []string
	var last *http.Response
	for i := 0; i < 5; i++ {
		last = post("alice", "guess"+strconv.Itoa(i))
		codes = append(codes, strconv.Itoa(last.StatusCode))
	}
	if got := strings.Join(codes, " "); got != "303 303 303 303 429" {
		t.Fatalf("guesses answered %s; the quick start promises 303 303 303 303 429", got)
	}
	if !strings.Contains(shell, "303 303 303 303 429") {
		t.Error("the quick start no longer shows the answers this test checks (303 303 303 303 429)")
	}
	if last.Header.Get("Retry-After") == "" {
		t.Error("the 429 has no Retry-After")
	}

	// One audit line per guarded request, in Caddy's log.
	waitFor(t, func() bool { return strings.Count(log.String(), `"msg":"login_guard"`) >= 6 }, "six login_guard audit lines in caddy's log")

	// State on disk, where docs/operations.md says: Caddy's data directory
	// under the (clean) HOME, and the autosaved config beside it.
	for _, p := range []string{".local/share/caddy/login_guard/keys.json", ".config/caddy/autosave.json"} {
		if _, err := os.Stat(filepath.Join(home, p)); err != nil {
			t.Errorf("$HOME/%s: %v", p, err)
		}
	}
	ops, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"~/.local/share/caddy/login_guard/keys.json", "~/.config/caddy/autosave.json"} {
		if !strings.Contains(string(ops), p) {
			t.Errorf("docs/operations.md does not name %s", p)
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
