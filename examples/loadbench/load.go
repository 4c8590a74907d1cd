package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// measurement is one load run against one side.
type measurement struct {
	Requests   int64   `json:"requests"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Unexpected int64   `json:"unexpected"` // wrong status or transport error
	// CPUusPerReq is the Caddy process's own CPU time per request (user
	// and system), read from /proc around the run: what the request cost
	// the server, whatever the load generator took.
	CPUusPerReq float64 `json:"cpu_us_per_req"`
	// StoreCPUusPerReq is redis-server's CPU time per request, on the
	// side that keeps its state there; not part of CPUusPerReq.
	StoreCPUusPerReq float64 `json:"store_cpu_us_per_req,omitempty"`
	// VendorCPUusPerReq is the SmartID stand-in's CPU time per request,
	// on the side that sends it events; not part of CPUusPerReq.
	VendorCPUusPerReq float64 `json:"vendor_cpu_us_per_req,omitempty"`
	// MachineBusy is the share of all the machine's CPU time that was
	// busy during the run (every process, the load generator's and the
	// kernel's included), from /proc/stat: near 1 the run was bound by
	// the CPUs, so a side's throughput follows its CPU per request;
	// below, by latency (waits) as well.
	MachineBusy float64 `json:"machine_busy,omitempty"`
	// Stolen is the share of the CPUs' time the hypervisor took during
	// the run (/proc/stat's steal).
	Stolen float64 `json:"stolen,omitempty"`
	// Statuses counts the answers by status (Go generator only).
	Statuses map[string]int `json:"statuses,omitempty"`
}

// request is what a load run sends.
type request struct {
	method, url, body string
	status            int
	xffDistinct       int // > 0: X-Forwarded-For cycles through this many addresses
	xffOffset         int // ... starting this far into 10.0.0.0/8
	// wave: every request a new user (username=w<n>, the rest of the
	// body as given) from a new address (X-Forwarded-For in 10.0.0.0/8,
	// through every one of waveAddrs before one recurs), as in a
	// credential-stuffing wave.
	wave bool
	// rate > 0: this many requests a second in all, each sent when it is
	// due (the Go generator only; wrk sends as fast as it is answered).
	rate int
}

// waveAddrs is how many addresses a wave goes through: more than the
// guard's max_keys (the default -max-keys), so its counters evict as they
// would under a real wave.
const waveAddrs = 1 << 18

// waveBody is the body of a wave's request n: body with its first field
// (the user) replaced.
func waveBody(body string, n int) string {
	_, rest, _ := strings.Cut(body, "&")
	return "username=w" + strconv.Itoa(n) + "&" + rest
}

// waveScript is the wrk script of a wave for wrk's threads threads: the
// thread numbered t of them sends the requests t, t+threads, t+2*threads,
// ..., so no two requests share a user, and no two share an address until
// the waveAddrs are used up. The addresses are distinctAddr's.
func waveScript(body string, threads int) string {
	_, rest, _ := strings.Cut(body, "&")
	return fmt.Sprintf(`local threads = 0
function setup(thread)
	thread:set("t", threads)
	threads = threads + 1
end
local n = -1
request = function()
	n = n + 1
	local i = n * %d + t
	local a = i %% %d
	local xff = string.format("10.%%d.%%d.%%d", math.floor(a / 65536) %% 256, math.floor(a / 256) %% 256, a %% 256)
	return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Forwarded-For"] = xff}, "username=w" .. i .. "&" .. %q)
end
`, threads, waveAddrs, rest)
}

// loadGen runs load against a URL for a duration (or a request count).
type loadGen interface {
	run(r request, d time.Duration, count int) (measurement, error)
	name() string
}

// wrkGen drives wrk. It reports non-2xx/3xx answers; for a scenario that
// expects 403 those are the expected ones.
type wrkGen struct {
	dir              string
	threads, conns   int
	scriptsByRequest map[string]string
}

func (w *wrkGen) name() string { return "wrk" }

func (w *wrkGen) script(r request) (string, error) {
	key := r.method + " " + strconv.FormatBool(r.wave) + " " + r.body
	if p, ok := w.scriptsByRequest[key]; ok {
		return p, nil
	}
	var b strings.Builder
	switch {
	case r.wave:
		b.WriteString(waveScript(r.body, w.threads))
	default:
		fmt.Fprintf(&b, "wrk.method = %q\n", r.method)
		if r.body != "" {
			fmt.Fprintf(&b, "wrk.body = %q\n", r.body)
			b.WriteString("wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n")
		}
	}
	p := filepath.Join(w.dir, fmt.Sprintf("wrk-%d.lua", len(w.scriptsByRequest)))
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	if w.scriptsByRequest == nil {
		w.scriptsByRequest = map[string]string{}
	}
	w.scriptsByRequest[key] = p
	return p, nil
}

func (w *wrkGen) run(r request, d time.Duration, count int) (measurement, error) {
	if r.rate > 0 {
		return measurement{}, fmt.Errorf("wrk cannot pace requests (rate %d): use the Go generator", r.rate)
	}
	if count > 0 || r.xffDistinct > 0 {
		return measurement{}, errors.New("wrk runs by duration only")
	}
	script, err := w.script(r)
	if err != nil {
		return measurement{}, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	out, err := exec.Command("wrk", "-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.conns),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-s", script, r.url).CombinedOutput()
	if err != nil {
		return measurement{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m, err := parseWrk(string(out))
	if err != nil {
		return m, err
	}
	if r.status >= 400 {
		// wrk counts the expected refusals as non-2xx/3xx.
		m.Unexpected = max(0, m.Requests-m.Unexpected)
	}
	return m, nil
}

// parseWrk reads wrk --latency output.
func parseWrk(out string) (measurement, error) {
	var m measurement
	var haveRPS bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			m.P50ms = wrkDuration(f[1])
		case len(f) == 2 && f[0] == "99%":
			m.P99ms = wrkDuration(f[1])
		case len(f) >= 2 && f[0] == "Requests/sec:":
			m.RPS, _ = strconv.ParseFloat(f[1], 64)
			haveRPS = true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			m.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			m.Unexpected += n
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				m.Unexpected += n
			}
		}
	}
	if !haveRPS {
		return m, fmt.Errorf("wrk output not understood: %s", out)
	}
	return m, nil
}

// wrkDuration converts "1.23ms", "850.00us", "1.02s" to milliseconds.
func wrkDuration(s string) float64 {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 0.001}, {"ms", 1}, {"m", 60000}, {"s", 1000}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f * u.ms
		}
	}
	return 0
}

// goGen runs the Go generator as its own process (this binary in the
// "load" role), so it never shares a runtime with what it measures.
type goGen struct{ conns int }

func (g *goGen) name() string { return "go" }

func (g *goGen) run(r request, d time.Duration, count int) (measurement, error) {
	self, err := os.Executable()
	if err != nil {
		return measurement{}, err
	}
	args := []string{"load", "-url", r.url, "-method", r.method, "-body", r.body,
		"-status", strconv.Itoa(r.status), "-c", strconv.Itoa(g.conns), "-d", d.String(),
		"-n", strconv.Itoa(count), "-xff", strconv.Itoa(r.xffDistinct), "-xff-offset", strconv.Itoa(r.xffOffset),
		"-wave=" + strconv.FormatBool(r.wave), "-rate", strconv.Itoa(r.rate)}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("load generator: %v", err)
	}
	var m measurement
	return m, json.Unmarshal(out, &m)
}

// runLoadRole is the Go load generator: keep-alive clients for -d (or
// until -n requests), one JSON measurement on stdout.
func runLoadRole(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "target")
	method := fs.String("method", "GET", "method")
	body := fs.String("body", "", "form body")
	status := fs.Int("status", 200, "expected status")
	conns := fs.Int("c", 16, "connections")
	dur := fs.Duration("d", 5*time.Second, "duration (when -n is 0)")
	n := fs.Int("n", 0, "stop after this many requests")
	xff := fs.Int("xff", 0, "cycle X-Forwarded-For through this many distinct addresses")
	xffOffset := fs.Int("xff-offset", 0, "start the addresses this far into 10.0.0.0/8")
	wave := fs.Bool("wave", false, "a new user from a new address each request")
	rate := fs.Int("rate", 0, "requests a second in all (0: as fast as answered)")
	_ = fs.Parse(args)
	m := generate(request{method: *method, url: *url, body: *body, status: *status, xffDistinct: *xff, xffOffset: *xffOffset, wave: *wave, rate: *rate}, *conns, *dur, *n)
	if err := json.NewEncoder(os.Stdout).Encode(m); err != nil {
		log.Fatal(err)
	}
}

func generate(r request, conns int, d time.Duration, n int) measurement {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	var next, unexpected atomic.Int64
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, conns)
	statuses := make([]map[int]int, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		statuses[w] = map[int]int{}
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if r.rate > 0 {
					// Request i is due i/rate after the start; one that
					// is late goes at once, so the rate holds on average.
					due := start.Add(time.Duration(i-1) * time.Second / time.Duration(r.rate))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
				}
				if n > 0 && i > int64(n) || n <= 0 && time.Now().After(deadline) {
					return
				}
				body := r.body
				if r.wave {
					body = waveBody(r.body, int(i-1))
				}
				req, _ := http.NewRequest(r.method, r.url, strings.NewReader(body))
				if r.body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				switch {
				case r.xffDistinct > 0:
					req.Header.Set("X-Forwarded-For", distinctAddr(r.xffOffset+int(i-1)%r.xffDistinct))
				case r.wave:
					req.Header.Set("X-Forwarded-For", distinctAddr(int(i-1)%waveAddrs))
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					unexpected.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[w][resp.StatusCode]++
				if resp.StatusCode != r.status && r.xffDistinct == 0 {
					unexpected.Add(1)
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
	m := measurement{Requests: int64(len(all)), Unexpected: unexpected.Load(), Statuses: map[string]int{}}
	for _, st := range statuses {
		for code, n := range st {
			m.Statuses[strconv.Itoa(code)] += n
		}
	}
	if len(all) > 0 {
		m.RPS = float64(len(all)) / elapsed.Seconds()
		m.P50ms = float64(all[len(all)/2]) / 1e6
		m.P99ms = float64(all[len(all)*99/100]) / 1e6
	}
	return m
}

// distinctAddr is the i-th address of 10.0.0.0/8 (i < 2^24).
func distinctAddr(i int) string {
	return "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
}
