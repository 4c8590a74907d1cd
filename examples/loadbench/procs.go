package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
)

// roles are the processes this binary can be re-executed as.
var roles = map[string]func(args []string){
	"caddy":    runCaddy,
	"upstream": runUpstream,
	"smartid":  runFakeSmartID,
	"engine":   runFakeEngine,
	"load":     runLoadRole,
	"redis":    runRedis,
}

// runCaddy is Caddy with the login_guard modules: args are Caddy's.
func runCaddy(args []string) {
	os.Args = append([]string{"caddy"}, args...)
	caddycmd.Main()
}

// serve answers on the address given as -addr until killed.
func serve(args []string, name string, h http.Handler, extra func(*flag.FlagSet)) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if extra != nil {
		extra(fs)
	}
	_ = fs.Parse(args)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// runUpstream is the portal behind both Caddy processes: it reads the
// body and accepts every login.
func runUpstream(args []string) {
	serve(args, "upstream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/account")
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}), nil)
}

// runFakeSmartID accepts every analytics event.
func runFakeSmartID(args []string) {
	serve(args, "smartid", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}), nil)
}

// runFakeEngine answers every attempt with allow after -delay, as a
// scoring service behind the http engine would.
func runFakeEngine(args []string) {
	var delay *time.Duration
	serve(args, "engine", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(*delay)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"action":"allow","score":1}`)
	}), func(fs *flag.FlagSet) { delay = fs.Duration("delay", 5*time.Millisecond, "answer after this long") })
}

// runRedis becomes redis-server on -addr's loopback port, its files in
// -dir: nothing saved to disk, and noeviction, which the guard requires
// (an evicting Redis would free locked keys). Stopping the role stops the
// server: it is the same process.
func runRedis(args []string) {
	fs := flag.NewFlagSet("redis", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (a fixed port)")
	dir := fs.String("dir", "", "working directory")
	_ = fs.Parse(args)
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		log.Fatal(err)
	}
	argv := []string{"redis-server", "--bind", host, "--port", port, "--dir", *dir,
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"}
	log.Fatal(syscall.Exec(bin, argv, os.Environ()))
}

// waitRedis waits until the Redis at addr answers PING, or the process
// died.
func waitRedis(p *proc, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready", p.name)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, err = io.WriteString(c, "PING\r\n")
			line := ""
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && strings.TrimSpace(line) == "+PONG" {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s within %v", p.name, addr, within)
}

// proc is a child process in one role.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs this binary in role with args, its output prefixed into
// logPath, with env added to this process's environment.
func start(role, name, logPath string, env []string, args ...string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{role}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// stop ends the process: SIGINT (Caddy stops gracefully), then SIGKILL.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitHTTP waits until url answers anything, or the process died.
func waitHTTP(p *proc, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (see its log)", p.name)
		default:
		}
		if resp, err := c.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s within %v", p.name, url, within)
}

// memory reads a process's resident set and its peak from /proc, in KiB.
func memory(pid int) (rss, peak int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			peak = n
		}
	}
	return rss, peak, sc.Err()
}

// goroutineCount is a process's goroutines, and how many of them are the
// two each kept-alive connection of an HTTP client holds (net/http's
// persistConn read and write loops): the proxy's to the upstream and the
// guard's to its vendors. Those last until the connection's idle timeout
// and say nothing of what the clients of the flood left behind.
type goroutineCount struct {
	total, keepAlive int
}

// goroutines reads the count from Caddy's admin pprof endpoint.
func goroutines(admin string) (goroutineCount, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/debug/pprof/goroutine?debug=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return goroutineCount{}, err
	}
	defer resp.Body.Close()
	return parseGoroutines(resp.Body)
}

// parseGoroutines reads a goroutine profile in its debug=1 text form: a
// "goroutine profile: total N" line, then a block a stack, each headed
// "<count> @ <addresses>" and followed by its "#\t<pc>\t<function>..."
// frames.
func parseGoroutines(r io.Reader) (goroutineCount, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return goroutineCount{}, errors.New("empty goroutine profile")
	}
	_, n, ok := strings.Cut(strings.TrimSpace(sc.Text()), "goroutine profile: total ")
	if !ok {
		return goroutineCount{}, errors.New("unexpected goroutine profile: " + sc.Text())
	}
	var c goroutineCount
	var err error
	if c.total, err = strconv.Atoi(n); err != nil {
		return goroutineCount{}, err
	}
	block, counted := 0, false
	for sc.Scan() {
		line := sc.Text()
		if count, _, ok := strings.Cut(line, " @ "); ok {
			if block, err = strconv.Atoi(count); err != nil {
				return goroutineCount{}, fmt.Errorf("unexpected goroutine profile line %q", line)
			}
			counted = false
			continue
		}
		if !counted && strings.HasPrefix(line, "#") &&
			(strings.Contains(line, "net/http.(*persistConn).readLoop") || strings.Contains(line, "net/http.(*persistConn).writeLoop")) {
			c.keepAlive += block
			counted = true
		}
	}
	if err := sc.Err(); err != nil {
		return goroutineCount{}, err
	}
	if c.keepAlive > c.total {
		return goroutineCount{}, fmt.Errorf("goroutine profile: %d in keep-alive loops of %d in all", c.keepAlive, c.total)
	}
	return c, nil
}

// cpuTicks is the process's user+system CPU time so far, from /proc.
func cpuTicks(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// cpuTotals is the machine's CPU time so far, in clock ticks, all CPUs
// together: in all, and idle (idle and waiting for I/O); time stolen by
// the hypervisor (never the machine's to use) is not in total but
// counted apart.
type cpuTotals struct{ total, idle, steal int64 }

// machineTicks reads the machine's CPU totals from /proc/stat.
func machineTicks() (cpuTotals, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTotals{}, err
	}
	return parseCPUStat(string(b))
}

// parseCPUStat reads the totals from /proc/stat's first line.
func parseCPUStat(stat string) (cpuTotals, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 8 || f[0] != "cpu" {
		return cpuTotals{}, errors.New("unexpected /proc/stat")
	}
	var c cpuTotals
	for i, v := range f[1:8] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuTotals{}, errors.New("unexpected /proc/stat")
		}
		c.total += n
		if i == 3 || i == 4 {
			c.idle += n
		}
	}
	if len(f) > 8 {
		if n, err := strconv.ParseInt(f[8], 10, 64); err == nil {
			c.steal = n
		}
	}
	return c, nil
}

// stolenShareSince is the share of the CPUs' time since before that the
// hypervisor took (0 when no tick passed): a run it took much of was
// measured on a host that was busy with something else.
func (c cpuTotals) stolenShareSince(before cpuTotals) float64 {
	all := c.total - before.total + c.steal - before.steal
	if all <= 0 {
		return 0
	}
	return float64(c.steal-before.steal) / float64(all)
}

// busyShareSince is the share of the CPU time since before that was not
// idle (0 when no tick passed).
func (c cpuTotals) busyShareSince(before cpuTotals) float64 {
	total := c.total - before.total
	if total <= 0 {
		return 0
	}
	return 1 - float64(c.idle-before.idle)/float64(total)
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100
