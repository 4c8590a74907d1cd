// Package redisproc starts real redis-server processes for tests: a single
// node or a local Cluster of masters, each on a free loopback port in its
// own temporary directory, stopped when the test ends. Tests using it need
// redis-server and redis-cli (Debian: redis-server, redis-tools) and
// carry the `redis` build tag.
package redisproc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// Server is one redis-server process.
type Server struct {
	Port int
	Dir  string
	args []string
	cmd  *exec.Cmd
	t    testing.TB
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// portWithBus finds a loopback port that is free, and whose cluster bus port
// (port+10000) is free too.
func portWithBus(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := ports.Free(t)
		if p+10000 > 65535 {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		_ = b.Close()
		return p
	}
	t.Fatal("redisproc: no free port pair")
	return 0
}

// Start runs a single redis-server with maxmemory-policy noeviction and no
// persistence; extra are more `--option value` arguments.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redisproc: redis-server not installed (Debian package redis-server)")
	}
	s := &Server{Port: portWithBus(t), Dir: t.TempDir(), t: t}
	s.args = append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
		"--protected-mode", "no", "--logfile", filepath.Join(s.Dir, "redis.log"),
	}, extra...)
	s.launch()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) launch() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", s.args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := s.Do("PING"); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	s.t.Fatalf("redisproc: redis-server on %d did not answer:\n%s", s.Port, log)
}

// Stop kills the server (as a crash would) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP) with its data: connections are
// still accepted by the kernel but nothing is answered, as a Redis that
// hangs. Commands sent meanwhile run once it resumes, even those whose
// callers gave up. Stop still kills a paused server.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatal(err)
	}
}

// Resume lets a paused server go on (SIGCONT), with what it held.
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatal(err)
	}
}

// Restart starts the server again on the same port, empty (no
// persistence): as after a crash of a Redis without persistence.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.launch()
}

// Do sends one command (inline form) and returns the first reply line.
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	return line, nil
}

// Cluster is a local Redis Cluster of masters with no replicas.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' addresses.
func (c *Cluster) Addrs() []string {
	a := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		a[i] = n.Addr()
	}
	return a
}

// StartCluster runs n masters (n >= 3) and joins them into one Cluster with
// `redis-cli --cluster create --cluster-replicas 0`.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redisproc: redis-cli not installed (Debian package redis-tools)")
	}
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redisproc: cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range c.Nodes {
		for {
			info, _ := exec.Command("redis-cli", "-p", strconv.Itoa(s.Port), "cluster", "info").Output()
			if strings.Contains(string(info), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redisproc: cluster not ok on %d:\n%s", s.Port, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c
}

// Sentinel is one redis-sentinel process watching a master.
type Sentinel struct {
	Server
}

// StartSentinel runs a sentinel (redis-server in sentinel mode) that
// monitors master under the name name, with a quorum of one.
func StartSentinel(t testing.TB, name string, master *Server) *Sentinel {
	t.Helper()
	s := &Sentinel{Server: Server{Port: portWithBus(t), Dir: t.TempDir(), t: t}}
	conf := filepath.Join(s.Dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\n",
		s.Port, s.Dir, filepath.Join(s.Dir, "redis.log"), name, master.Port, name, name)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s.args = []string{conf, "--sentinel"}
	s.launch()
	t.Cleanup(s.Stop)
	return s
}
