// Command loadbench measures what the guard costs, against bare Caddy in
// the same run and the same process: one upstream, one Caddy config with a
// bare site and a guarded site, and a keep-alive load generator on
// loopback. It prints requests per second and latency percentiles for
//
//	bare      POST /api/login through a site without login_guard
//	unguarded POST /api/other on the guarded site (no login_guard matcher selects it)
//	guarded   POST /api/login through login_guard (parse, rules, session cookie)
//
// and each one's throughput as a ratio of bare. Run:
//
//	go run ./examples/loadbench -n 20000 -c 16
//
// Every loop is bounded by -n and -max; all traffic stays on 127.0.0.1.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard/caddymodule"
)

func main() {
	n := flag.Int("n", 20000, "requests per scenario")
	c := flag.Int("c", 16, "concurrent clients")
	maxDur := flag.Duration("max", 60*time.Second, "stop a scenario after this long")
	flag.Parse()
	if err := run(*n, *c, *maxDur); err != nil {
		log.Fatal(err)
	}
}

type scenario struct {
	name, method, url, body string
}

type result struct {
	scenario
	done     int
	failed   int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func run(n, c int, maxDur time.Duration) error {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(upstream, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/account")
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		io.WriteString(w, "ok")
	}))
	bare, guarded := freePort(), freePort()
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %s
	log {
		output discard
	}
	order login_guard before reverse_proxy
}
http://127.0.0.1:%d {
	reverse_proxy %s
}
http://127.0.0.1:%d {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		deny_ip 203.0.113.0/24
	}
	reverse_proxy %s
}
`, filepath.Join(dir, "storage"), bare, upstream.Addr(), guarded, upstream.Addr())
	raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		return err
	}
	if err := caddy.Load(raw, true); err != nil {
		return err
	}
	defer caddy.Stop()

	form := "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	scenarios := []scenario{
		{"bare", http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/login", bare), form},
		{"unguarded", http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/other", guarded), form},
		{"guarded", http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/login", guarded), form},
	}
	var results []result
	for _, s := range scenarios {
		load(s, n/10, c, maxDur) // warm connections and caches
		results = append(results, load(s, n, c, maxDur))
	}
	fmt.Printf("%d requests per scenario, %d clients, GOMAXPROCS=%d\n\n", n, c, runtimeProcs())
	fmt.Printf("%-10s %10s %10s %10s %8s %14s\n", "scenario", "req/s", "p50", "p99", "failed", "vs bare req/s")
	baseRate := rate(results[0])
	for _, r := range results {
		fmt.Printf("%-10s %10.0f %10s %10s %8d %14.2f\n", r.name, rate(r), r.p50, r.p99, r.failed, rate(r)/baseRate)
	}
	return nil
}

func rate(r result) float64 { return float64(r.done) / r.elapsed.Seconds() }

func load(s scenario, n, c int, maxDur time.Duration) result {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, c)
	deadline := time.Now().Add(maxDur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				t0 := time.Now()
				req, _ := http.NewRequest(s.method, s.url, strings.NewReader(s.body))
				if s.body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 400 {
					failed.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{scenario: s, done: len(all), failed: int(failed.Load()), elapsed: elapsed}
	if len(all) > 0 {
		r.p50 = all[len(all)/2].Round(time.Microsecond)
		r.p99 = all[len(all)*99/100].Round(time.Microsecond)
	}
	return r
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
