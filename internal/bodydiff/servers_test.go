//go:build differential

package bodydiff

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// The parser servers' processes. A port that was free when picked may be
// taken by another process before the server binds it; and Caddy binds
// with SO_REUSEPORT, so another Caddy of the same user on the same port
// would share its connections instead of failing. So: Caddy gets its
// listeners from the test (inherited file descriptors, the port never
// released), each other server is started with a token that its /ready
// answer must echo (the server answering is the one started, not another
// process on the port) and is started again on another port when it
// exits or someone else answers; and a run stops at once, with the
// server's stderr, when a server process exits or a request gets no
// answer, instead of every worker waiting out its timeouts.

// tokenEnv is the variable each server is started with; /ready echoes it.
const tokenEnv = "LOGIN_GUARD_BODYDIFF_TOKEN"

// readyWait bounds how long a server may take to answer /ready (the JVM
// and Caddy take seconds on a busy machine).
const readyWait = 60 * time.Second

var readyClient = &http.Client{Timeout: 3 * time.Second}

// proc is a server process the test started, in a process group of its
// own (PHP's servers and gunicorn fork workers), killed with the test.
type proc struct {
	name   string
	pid    int
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, once exited is closed
	stop   sync.Once
}

// startProcess starts c, its stderr written to w.
func startProcess(t *testing.T, name string, c *exec.Cmd, w io.Writer) (*proc, error) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Stderr = w
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, pid: c.Process.Pid, exited: make(chan struct{})}
	go func() {
		p.err = c.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	return p, nil
}

func (p *proc) kill() {
	p.stop.Do(func() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.exited
	})
}

// dead is an error once the process has exited, nil while it runs.
func (p *proc) dead() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s (pid %d) exited: %v", p.name, p.pid, p.err)
	default:
		return nil
	}
}

// withToken adds a fresh token to c's environment and returns it.
func withToken(c *exec.Cmd) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	if c.Env == nil {
		c.Env = os.Environ()
	}
	c.Env = append(c.Env, tokenEnv+"="+tok)
	return tok
}

// errForeign: what answers /ready is not the server started.
var errForeign = errors.New("the server answering is not the one started")

// awaitReady polls base/ready until the server that answers names ident
// in its version and echoes token (a proxy's 502 to 504, its backend not
// up yet, is waited out). It fails as soon as one of procs has exited,
// when another server answers, and after readyWait.
func awaitReady(base, ident, token string, procs ...*proc) (string, error) {
	deadline := time.Now().Add(readyWait)
	for {
		for _, p := range procs {
			if err := p.dead(); err != nil {
				return "", err
			}
		}
		resp, err := readyClient.Get(base + "/ready")
		if err == nil && resp.StatusCode >= 502 && resp.StatusCode <= 504 {
			// Caddy answers before php-fpm listens.
			resp.Body.Close()
			err = fmt.Errorf("status %d", resp.StatusCode)
		} else if err == nil {
			var r struct{ Version, Token string }
			derr := json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if derr != nil || r.Token != token || !strings.Contains(r.Version, ident) {
				return "", fmt.Errorf("%w: %s/ready answered status %d, version %q (want %q in it), token %q (want %q), decoding: %v",
					errForeign, base, resp.StatusCode, r.Version, ident, r.Token, token, derr)
			}
			return r.Version, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s/ready: no answer in %v: %v", base, readyWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// launch starts the server mk makes on a free port and waits until it
// answers as itself. A server that exits (its port taken meanwhile), or
// whose port another process answers on, or that does not answer, is
// killed and started again on another port, three times at most.
func launch(t *testing.T, name string, mk func(port string) *exec.Cmd) (*server, error) {
	var errs []error
	for range 3 {
		port, err := ports.Pick()
		if err != nil {
			return nil, err
		}
		var stderr bytes.Buffer
		c := mk(strconv.Itoa(port))
		tok := withToken(c)
		p, err := startProcess(t, name, c, &lockedWriter{w: &stderr})
		if err != nil {
			return nil, err
		}
		s := &server{base: "http://127.0.0.1:" + strconv.Itoa(port), stderr: &stderr, procs: []*proc{p}}
		v, err := awaitReady(s.base, serverIdent[name], tok, p)
		if err == nil {
			s.version = v
			return s, nil
		}
		p.kill()
		errs = append(errs, fmt.Errorf("%s on port %d: %w\n%s", name, port, err, tail(&stderr)))
	}
	return nil, errors.Join(errs...)
}

// launchAll launches the servers cmds makes, side by side.
func launchAll(t *testing.T, cmds map[string]func(port string) *exec.Cmd) map[string]*server {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	servers := map[string]*server{}
	var errs []error
	for name, mk := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := launch(t, name, mk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				servers[name] = s
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("parser servers did not start: %v", errors.Join(errs...))
	}
	return servers
}

// runBudget is how long one differential run may take: five minutes, and
// less when go test's own deadline comes sooner, so that a run that
// crawls fails with what it was waiting on rather than in go test's
// panic.
func runBudget(t *testing.T) time.Duration {
	b := 5 * time.Minute
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 30*time.Second; left < b {
			b = max(left, time.Second)
		}
	}
	return b
}

// watch cancels ctx with the cause when a process of servers exits
// before ctx is done.
func watch(ctx context.Context, cancel context.CancelCauseFunc, servers map[string]*server) {
	for name, s := range servers {
		for _, p := range s.procs {
			go func() {
				select {
				case <-p.exited:
					cancel(fmt.Errorf("the %s server stopped during the run: %v\n%s", name, p.dead(), tail(s.stderr)))
				case <-ctx.Done():
				}
			}()
		}
	}
}

// state says whether the server's processes run, for a failure message.
func (s *server) state() string {
	var b strings.Builder
	for _, p := range s.procs {
		if err := p.dead(); err != nil {
			fmt.Fprintf(&b, "%v; ", err)
		} else {
			fmt.Fprintf(&b, "%s (pid %d) still runs; ", p.name, p.pid)
		}
	}
	return b.String()
}
