// Package caddyproc runs Caddy, with every login_guard module, as a
// separate process for tests: the test binary re-executes itself as
// Caddy, so no second build is needed. A test package opts in from its
// TestMain:
//
//	func TestMain(m *testing.M) {
//		caddyproc.MaybeRunAsCaddy()
//		os.Exit(m.Run())
//	}
//
// and then starts, reloads and stops processes with [Start].
//
// A Caddyfile given to [Start] or [Proc.Reload] may use placeholders:
// {{admin}} (required: the admin listener, used for reloads),
// {{port.NAME}} (a free loopback port, the same NAME giving the same
// port for the process's whole life, restarts included) and {{dir}} (the
// process's own directory, which also holds its HOME and storage).
package caddyproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// envRunAsCaddy marks a re-executed test binary that must act as Caddy.
const envRunAsCaddy = "LOGIN_GUARD_TEST_RUN_AS_CADDY"

// MaybeRunAsCaddy turns this process into Caddy (and never returns) when
// it was started by [Start]; otherwise it does nothing. Call it first in
// TestMain.
func MaybeRunAsCaddy() {
	if os.Getenv(envRunAsCaddy) != "1" {
		return
	}
	caddycmd.Main()
	os.Exit(0)
}

// Command is this test binary as the caddy command with args, its HOME a
// fresh directory: for a subcommand run to its end (validate, adapt, a
// run expected to fail). Its TestMain must call MaybeRunAsCaddy.
func Command(t testing.TB, args ...string) *exec.Cmd {
	return command(t.TempDir(), args...)
}

// command is this test binary as the caddy command with args, its HOME
// and XDG directories under home.
func command(home string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(),
		envRunAsCaddy+"=1",
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
	)
	return cmd
}

// Options adjust a process. The zero value is usable.
type Options struct {
	// Env is added to the process's environment (KEY=VALUE), e.g. the
	// secrets a Caddyfile reads with {env.NAME}.
	Env []string
	// ReadyTimeout bounds the wait for Caddy to serve its initial config.
	// Default 30s.
	ReadyTimeout time.Duration
}

// Proc is one Caddy process (and its restarts).
type Proc struct {
	// Dir is the process's directory: its Caddyfile, HOME and storage.
	Dir string
	// AdminAddr is the admin listener, host:port.
	AdminAddr string

	t     testing.TB
	opts  Options
	ports map[string]int
	file  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *syncBuffer
	logs    []*syncBuffer // earlier runs' logs, kept across restarts
	exited  chan struct{}
	waitErr error
}

// Start writes caddyfile (placeholders filled) into a fresh directory and
// runs Caddy on it, returning once Caddy serves its initial config. The
// process is killed when the test ends if it still runs.
func Start(t testing.TB, caddyfile string, opts Options) *Proc {
	t.Helper()
	if !strings.Contains(caddyfile, "{{admin}}") {
		t.Fatal("caddyproc: the Caddyfile must set `admin {{admin}}` in its global options")
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	p := &Proc{Dir: t.TempDir(), t: t, opts: opts, ports: map[string]int{}}
	p.AdminAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port("admin")))
	p.file = filepath.Join(p.Dir, "Caddyfile")
	if err := os.WriteFile(p.file, []byte(p.Expand(caddyfile)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the process is stopped, then its logs
	// are read.
	t.Cleanup(func() {
		if panic := p.loggedPanic(); panic != "" {
			t.Errorf("caddyproc: a request panicked: %s", panic)
		}
	})
	t.Cleanup(p.kill)
	p.launch()
	return p
}

// loggedPanic is the first request panic any run of the process logged
// (see caddytest.LoggedPanic), or "".
func (p *Proc) loggedPanic() string {
	p.mu.Lock()
	bufs := append(append([]*syncBuffer(nil), p.logs...), p.log)
	p.mu.Unlock()
	for _, b := range bufs {
		if b == nil {
			continue
		}
		if panic := caddytest.LoggedPanic([]byte(b.String())); panic != "" {
			return panic
		}
	}
	return ""
}

// Port returns the free loopback port named name, choosing it on first use.
func (p *Proc) Port(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if port, ok := p.ports[name]; ok {
		return port
	}
	port, err := ports.Pick()
	if err != nil {
		p.t.Fatal(err)
	}
	p.ports[name] = port
	return port
}

// URL is http://127.0.0.1:{{port.name}}.
func (p *Proc) URL(name string) string {
	return "http://127.0.0.1:" + strconv.Itoa(p.Port(name))
}

var portPlaceholder = regexp.MustCompile(`\{\{port\.([A-Za-z0-9_-]+)\}\}`)

// Expand fills the placeholders of a Caddyfile for this process.
func (p *Proc) Expand(caddyfile string) string {
	s := strings.ReplaceAll(caddyfile, "{{admin}}", p.AdminAddr)
	s = strings.ReplaceAll(s, "{{dir}}", p.Dir)
	return portPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		return strconv.Itoa(p.Port(portPlaceholder.FindStringSubmatch(m)[1]))
	})
}

func (p *Proc) launch() {
	p.t.Helper()
	cmd := command(filepath.Join(p.Dir, "home"), "run", "--config", p.file, "--adapter", "caddyfile")
	cmd.Env = append(cmd.Env, p.opts.Env...)
	buf := new(syncBuffer)
	cmd.Stdout = buf
	cmd.Stderr = buf
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("caddyproc: starting: %v", err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	if p.log != nil {
		p.logs = append(p.logs, p.log)
	}
	p.cmd, p.log, p.exited, p.waitErr = cmd, buf, exited, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	if err := p.waitLog(func(l map[string]any) bool { return l["msg"] == "serving initial configuration" }, p.opts.ReadyTimeout, exited); err != nil {
		p.t.Fatalf("caddyproc: Caddy did not start: %v\n%s", err, buf.String())
	}
}

// Reload replaces the running config with caddyfile (placeholders filled)
// through the admin API; Caddy answers once the new config runs.
func (p *Proc) Reload(caddyfile string) error {
	body := p.Expand(caddyfile)
	if err := os.WriteFile(p.file, []byte(body), 0o600); err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+p.AdminAddr+"/load", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/caddyfile")
	// A reload with the same config is skipped unless forced.
	req.Header.Set("Cache-Control", "must-revalidate")
	before := p.listening()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("caddyproc: reload: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("caddyproc: reload: %s: %s", resp.Status, b)
	}
	return p.awaitOldListenersClosed(before, 10*time.Second)
}

// awaitOldListenersClosed waits until none of the process's ports has
// more listening sockets than before the reload. On Linux Caddy binds
// each config's listeners afresh with SO_REUSEPORT, so for a moment after
// a reload a port has two sockets, and the kernel hands each new
// connection to one of them; the old one closes only once the old
// config's servers have begun to shut down, which may be after the
// reload's answer, and the kernel resets every connection still waiting
// in its queue. A test's next request could land there and fail for a
// reason that is Caddy's reload, not what the test is about.
func (p *Proc) awaitOldListenersClosed(before map[int]int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		now := p.listening()
		settled := true
		for port, n := range now {
			if n > max(before[port], 1) {
				settled = false
			}
		}
		if settled {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("caddyproc: reload: the old config's listeners still open after %v (listening sockets by port: %v before, %v now)", limit, before, now)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening counts the listening TCP sockets on each of the process's
// ports, from /proc/net/tcp and tcp6 (nil where they cannot be read).
func (p *Proc) listening() map[int]int {
	p.mu.Lock()
	watched := map[int]bool{}
	for _, port := range p.ports {
		watched[port] = true
	}
	p.mu.Unlock()
	counts := map[int]int{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		countListening(string(b), watched, counts)
	}
	return counts
}

// countListening adds the sockets in LISTEN state (st 0A) on a watched
// port, from a /proc/net/tcp table, to counts.
func countListening(table string, watched map[int]bool, counts map[int]int) {
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err == nil && watched[int(port)] {
			counts[int(port)]++
		}
	}
}

// Signal sends sig to the running process.
func (p *Proc) Signal(sig os.Signal) error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	return cmd.Process.Signal(sig)
}

// Stop sends SIGTERM and waits up to timeout for the process to exit,
// returning its exit error (nil for a clean exit).
func (p *Proc) Stop(timeout time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return p.Wait(timeout)
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil for a clean exit).
func (p *Proc) Wait(timeout time.Duration) error {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waitErr
	case <-time.After(timeout):
		return fmt.Errorf("caddyproc: still running after %v", timeout)
	}
}

// Restart stops the process (SIGTERM) and starts it again on the same
// directory, storage, ports and current Caddyfile, returning once it
// serves.
func (p *Proc) Restart(timeout time.Duration) error {
	if err := p.Stop(timeout); err != nil {
		return err
	}
	p.launch()
	return nil
}

// Log is everything the current run has written (Caddy logs JSON lines).
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// LogLines are the JSON log lines of every run so far, oldest first;
// lines that are not JSON are skipped.
func (p *Proc) LogLines() []map[string]any {
	p.mu.Lock()
	bufs := append(append([]*syncBuffer(nil), p.logs...), p.log)
	p.mu.Unlock()
	var out []map[string]any
	for _, b := range bufs {
		out = append(out, parseLines(b.String())...)
	}
	return out
}

// WaitLog waits up to timeout for a log line of the current run for which
// match is true.
func (p *Proc) WaitLog(match func(line map[string]any) bool, timeout time.Duration) error {
	return p.waitLog(match, timeout, nil)
}

func (p *Proc) waitLog(match func(map[string]any) bool, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		buf := p.log
		p.mu.Unlock()
		for _, l := range parseLines(buf.String()) {
			if match(l) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no matching log line within %v", timeout)
		case <-exited:
			return errors.New("the process exited")
		case <-tick.C:
		}
	}
}

func (p *Proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func parseLines(s string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// syncBuffer is an io.Writer safe for the process's two output pipes and
// concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
