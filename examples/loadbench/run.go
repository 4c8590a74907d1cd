package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/ports"
)

func run(o options) error {
	scenarios, err := selectScenarios(o.scenarios)
	if err != nil {
		return err
	}
	if _, err := collectorEnv(o.gc, o.gcLimit); err != nil {
		return err
	}
	if o.logSink != "file" && slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_buffered" }) {
		if o.scenarios != "" {
			return fmt.Errorf("login_buffered compares the log file with the buffered output: it needs -log file, not %s", o.logSink)
		}
		fmt.Fprintf(os.Stderr, "-log %s: skipping login_buffered (it needs -log file)\n", o.logSink)
		scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_buffered" })
	}
	if !o.accessLog && slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_accesslog" }) {
		if o.scenarios != "" {
			return fmt.Errorf("login_access_log compares two ways of logging beside Caddy's access log: it needs -access-log")
		}
		scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_accesslog" })
	}
	if _, err := exec.LookPath("redis-server"); err != nil && slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_redis" }) {
		if o.scenarios != "" {
			return fmt.Errorf("login_redis needs redis-server: %v", err)
		}
		// The default set runs everywhere: skip the Redis scenario.
		fmt.Fprintln(os.Stderr, "redis-server not found: skipping login_redis")
		scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return sc.also == "guarded_redis" })
	}
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var gen loadGen
	switch o.gen {
	case "go":
		gen = &goGen{conns: o.conns}
	case "wrk", "auto":
		if _, err := exec.LookPath("wrk"); err == nil {
			gen = &wrkGen{dir: dir, threads: o.threads, conns: o.conns}
		} else if o.gen == "wrk" {
			return fmt.Errorf("wrk not found: %v", err)
		} else {
			gen = &goGen{conns: o.conns}
		}
	default:
		return fmt.Errorf("-gen: want wrk, go or auto, not %q", o.gen)
	}

	var procs []*proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	service := func(role string, args ...string) (int, error) {
		port, err := ports.Pick()
		if err != nil {
			return 0, err
		}
		p, err := start(role, role, filepath.Join(dir, role+".out"), nil, append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
		if err != nil {
			return 0, err
		}
		procs = append(procs, p)
		return port, waitHTTP(p, fmt.Sprintf("http://127.0.0.1:%d/", port), 30*time.Second)
	}
	var svc services
	if svc.upstream, err = service("upstream"); err != nil {
		return err
	}
	if svc.smartid, err = service("smartid"); err != nil {
		return err
	}
	smartidProc := procs[len(procs)-1]
	if svc.engine, err = service("engine", "-delay", o.engineDelay.String()); err != nil {
		return err
	}

	names := []string{"bare", "guarded", "guarded_smartid"}
	var redisProc *proc
	for _, sc := range scenarios {
		if sc.also == "" || slices.Contains(names, sc.also) {
			continue
		}
		if sc.also == "guarded_redis" {
			if svc.redis, redisProc, err = startRedis(dir, &procs); err != nil {
				return err
			}
		}
		names = append(names, sc.also)
	}
	sides := map[string]*side{}
	for _, name := range names {
		s := &side{name: name}
		if s.port, err = ports.Pick(); err != nil {
			return err
		}
		if s.admin, err = ports.Pick(); err != nil {
			return err
		}
		if strings.HasPrefix(name, "guarded") {
			s.sites = map[string]int{}
			for _, rt := range guardedRoutes[1:] {
				if s.sites[rt.path], err = ports.Pick(); err != nil {
					return err
				}
			}
		}
		cfg := filepath.Join(dir, name+".Caddyfile")
		if err := os.WriteFile(cfg, []byte(caddyfile(s, svc, dir, o)), 0o600); err != nil {
			return err
		}
		switch name {
		case "guarded_redis":
			s.store = redisProc
		case "guarded_smartid":
			s.vendor = smartidProc
		}
		if err := startCaddy(s, dir, cfg, o.gc, o.gcLimit, &procs); err != nil {
			return err
		}
		sides[name] = s
	}
	for _, sc := range scenarios {
		guarded, err := probe(sides[sc.side].url(sc.path), sc, sc.status)
		if err != nil {
			return err
		}
		if _, err := probe(sides["bare"].url(sc.bare), sc, bareStatus(sc)); err != nil {
			return err
		}
		if sc.also != "" {
			also, err := probe(sides[sc.also].url(sc.path), sc, sc.status)
			if err != nil {
				return err
			}
			if sc.also == "floor" {
				if err := checkFloorCookie(guarded, also); err != nil {
					return err
				}
			}
		}
		if sc.also == "guarded_noaudit" && o.logSink == "file" {
			if err := checkAuditExcluded(dir, sc.side, sc.also); err != nil {
				return err
			}
		}
		if sc.also == "guarded_accesslog" && o.logSink == "file" {
			if err := checkAuditInAccessLog(dir, sc.side, sc.also); err != nil {
				return err
			}
		}
	}

	res := &results{
		Meta:      meta(o, gen.name()),
		Scenarios: make([]scenarioResult, len(scenarios)),
	}
	// targets are the sides a scenario measures, bare first, and the
	// request each is sent.
	type target struct {
		role string // bare, guarded or also
		side *side
		req  request
	}
	targets := func(sc scenario) []target {
		t := []target{
			{"bare", sides["bare"], request{method: sc.method, url: sides["bare"].url(sc.bare), body: sc.body, status: bareStatus(sc), wave: sc.wave, rate: sc.rate}},
			{"guarded", sides[sc.side], request{method: sc.method, url: sides[sc.side].url(sc.path), body: sc.body, status: sc.status, wave: sc.wave, rate: sc.rate}},
		}
		if sc.also != "" {
			t = append(t, target{"also", sides[sc.also], request{method: sc.method, url: sides[sc.also].url(sc.path), body: sc.body, status: sc.status, wave: sc.wave, rate: sc.rate}})
		}
		return t
	}
	// A paced scenario runs the Go generator: wrk cannot pace.
	genFor := func(sc scenario) loadGen {
		if _, ok := gen.(*goGen); sc.rate > 0 && !ok {
			return &goGen{conns: o.conns}
		}
		return gen
	}
	fmt.Fprintf(os.Stderr, "load generator %s, %d connections, %d rounds of %v per scenario and side\n", gen.name(), o.conns, o.rounds, o.duration)
	for i, sc := range scenarios {
		res.Scenarios[i].Name = sc.name
		res.Scenarios[i].Also = sc.also
		res.Scenarios[i].Rate = sc.rate
		if o.warmup > 0 && o.rounds > 0 {
			for _, t := range targets(sc) {
				if _, err := genFor(sc).run(t.req, o.warmup, 0); err != nil {
					return err
				}
			}
		}
	}
	// -rounds 0 runs the memory check alone.
	for round := range o.rounds {
		for i, sc := range scenarios {
			var pair roundResult
			// Rotate which side goes first (with two sides, alternate),
			// so drift in the machine's load does not favour one side.
			all := targets(sc)
			k := round % len(all)
			order := slices.Concat(all[k:], all[:k])
			for _, t := range order {
				which, r, s := t.role, t.req, t.side
				var prof chan error
				if round == 0 && o.profile != "" {
					// The bare side's profile too, so the two can be
					// compared (go tool pprof -diff_base).
					name := o.profile + "-" + sc.name + ".pprof"
					if which != "guarded" {
						name = o.profile + "-" + sc.name + "-" + s.name + ".pprof"
					}
					prof = make(chan error, 1)
					go func() { prof <- cpuProfile(s, o.duration, name) }()
				}
				m, err := measure(genFor(sc), r, s, o.duration)
				if prof != nil {
					if perr := <-prof; perr != nil {
						fmt.Fprintf(os.Stderr, "profile of %s: %v\n", sc.name, perr)
					}
				}
				if err != nil {
					return fmt.Errorf("%s %s round %d: %v", sc.name, which, round+1, err)
				}
				switch which {
				case "bare":
					pair.Bare = m
				case "guarded":
					pair.Guarded = m
				default:
					pair.Also = &m
				}
			}
			if pair.Bare.RPS > 0 {
				pair.Ratio = pair.Guarded.RPS / pair.Bare.RPS
				if pair.Also != nil {
					pair.AlsoRatio = pair.Also.RPS / pair.Bare.RPS
				}
			}
			res.Scenarios[i].Rounds = append(res.Scenarios[i].Rounds, pair)
			fmt.Fprintf(os.Stderr, "round %d %-14s bare %8.0f req/s p99 %6.2f ms | guarded %8.0f req/s p99 %6.2f ms | %.3f",
				round+1, sc.name, pair.Bare.RPS, pair.Bare.P99ms, pair.Guarded.RPS, pair.Guarded.P99ms, pair.Ratio)
			if x := pair.Also; x != nil {
				fmt.Fprintf(os.Stderr, " | %s %8.0f req/s p99 %6.2f ms | %.3f", sc.also, x.RPS, x.P99ms, pair.AlsoRatio)
			}
			fmt.Fprintln(os.Stderr)
		}
	}
	for i := range res.Scenarios {
		res.Scenarios[i].summarise()
	}
	if o.flood > 0 {
		g := sides["guarded"]
		if o.gc != gcDefault {
			// The memory check reads the process's RSS, which Go's own
			// pacing keeps near the live heap; under a memory limit it
			// would only show the limit. So it runs on the guarded side
			// restarted with Go's default pacing.
			g.proc.stop()
			if err := startCaddy(g, dir, filepath.Join(dir, "guarded.Caddyfile"), gcDefault, 0, &procs); err != nil {
				return fmt.Errorf("flood: %v", err)
			}
		}
		f, err := flood(g, o)
		if err != nil {
			return fmt.Errorf("flood: %v", err)
		}
		res.Flood = f
	}
	res.Meta.LoadAfter = loadAvg()
	if o.rounds == 0 {
		res.Scenarios = nil
	}
	fmt.Print(markdownTable(res))
	if o.out != "" {
		if err := res.write(o.out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "results written to %s\n", o.out)
	}
	return nil
}

// startCaddy runs side s's Caddy with the config at cfg and Go's
// collector as -gc gc (-gc-limit limitMiB) asks, waits until it answers
// and checks the collector's settings took; procs stops it at the end
// with the rest.
func startCaddy(s *side, dir, cfg, gc string, limitMiB int, procs *[]*proc) error {
	env, err := collectorEnv(gc, limitMiB)
	if err != nil {
		return err
	}
	p, err := start("caddy", s.name, filepath.Join(dir, s.name+".out"), env, "run", "--config", cfg, "--adapter", "caddyfile")
	if err != nil {
		return err
	}
	s.proc = p
	*procs = append(*procs, p)
	if err := waitHTTP(p, s.base()+"/", 60*time.Second); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, s.name+".out"))
		return fmt.Errorf("%v\n%s", err, out)
	}
	return checkCollector(s, gc, limitMiB)
}

// startRedis runs the redis role on a free loopback port, its files in a
// directory under dir, and waits until it answers; procs stops it at the
// end with the rest.
func startRedis(dir string, procs *[]*proc) (int, *proc, error) {
	port, err := ports.Pick()
	if err != nil {
		return 0, nil, err
	}
	data := filepath.Join(dir, "redis")
	if err := os.Mkdir(data, 0o700); err != nil {
		return 0, nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := start("redis", "redis", filepath.Join(dir, "redis.out"), nil, "-addr", addr, "-dir", data)
	if err != nil {
		return 0, nil, err
	}
	*procs = append(*procs, p)
	if err := waitRedis(p, addr, 30*time.Second); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "redis.out"))
		return 0, nil, fmt.Errorf("%v\n%s", err, out)
	}
	return port, p, nil
}

// cpuProfile fetches a CPU profile of a side from its admin endpoint,
// covering most of a measurement that starts now.
func cpuProfile(s *side, d time.Duration, path string) error {
	secs := max(1, int(d/time.Second)-1)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", s.admin, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bareStatus is what bare Caddy answers: the upstream's answer.
func bareStatus(sc scenario) int {
	if sc.method == http.MethodPost {
		return http.StatusSeeOther
	}
	return http.StatusOK
}

// measure runs one load and the Caddy process's CPU time around it (and
// redis-server's or the SmartID stand-in's, on the side that uses one).
func measure(gen loadGen, r request, s *side, d time.Duration) (measurement, error) {
	counted := [...]*proc{s.proc, s.store, s.vendor} // nil: the side has none
	var before [len(counted)]time.Duration
	for i, p := range counted {
		if p == nil {
			continue
		}
		var err error
		if before[i], err = cpuTicks(p.pid()); err != nil {
			return measurement{}, err
		}
	}
	busyBefore, busyErr := machineTicks()
	m, err := gen.run(r, d, 0)
	if err != nil {
		return m, err
	}
	if busyAfter, err := machineTicks(); busyErr == nil && err == nil {
		m.MachineBusy = busyAfter.busyShareSince(busyBefore)
		m.Stolen = busyAfter.stolenShareSince(busyBefore)
	}
	perReq := [len(counted)]*float64{&m.CPUusPerReq, &m.StoreCPUusPerReq, &m.VendorCPUusPerReq}
	for i, p := range counted {
		if p == nil {
			continue
		}
		after, err := cpuTicks(p.pid())
		if err != nil {
			return m, err
		}
		if m.Requests > 0 {
			*perReq[i] = float64(after-before[i]) / float64(time.Microsecond) / float64(m.Requests)
		}
	}
	if m.Unexpected > 0 {
		return m, fmt.Errorf("%d unexpected answers from %s", m.Unexpected, r.url)
	}
	return m, nil
}

// probe checks one request gets the status the scenario expects, so a
// misconfigured run fails before it measures the wrong thing.
func probe(url string, sc scenario, want int) (http.Header, error) {
	req, _ := http.NewRequest(sc.method, url, strings.NewReader(sc.body))
	if sc.body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s: %s %s answered %d, want %d: %s", sc.name, sc.method, url, resp.StatusCode, want, body)
	}
	return resp.Header, nil
}

// checkFloorCookie: the floor side's answer carries one Set-Cookie line as
// long as the guard's session cookie line, so the two answers are the
// same size and login_floor compares like with like.
func checkFloorCookie(guarded, floor http.Header) error {
	g, f := guarded.Values("Set-Cookie"), floor.Values("Set-Cookie")
	if len(g) != 1 || len(f) != 1 || len(g[0]) != len(f[0]) {
		return fmt.Errorf("login_floor: the floor's Set-Cookie %q is not one line as long as the guard's %q: update floorCookie", f, g)
	}
	return nil
}

func meta(o options, gen string) metadata {
	m := metadata{
		Date:        time.Now().UTC().Format(time.RFC3339),
		Go:          runtime.Version(),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:        runtime.NumCPU(),
		Generator:   gen,
		Connections: o.conns,
		Rounds:      o.rounds,
		Duration:    o.duration.String(),
		EngineDelay: o.engineDelay.String(),
		LogSink:     o.logSink,
		AccessLog:   o.accessLog,
		GC:          collectorLabel(o.gc, o.gcLimit),
		LoadBefore:  loadAvg(),
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		// A run of a work tree with changes not committed yet says so:
		// the commit alone would name code that was not measured.
		if changed, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(changed) > 0 {
			m.Commit += "+uncommitted"
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// loadAvg is the 1-minute load average: how quiet the machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// checkAuditExcluded: after the probes, the side with audit lines has
// written one and the side excluding them none, so the scenario measures
// what it says it does.
func checkAuditExcluded(dir, with, without string) error {
	const auditLine = `"msg":"login_guard"` // the audit line's message
	for _, c := range []struct {
		side string
		want bool
	}{{with, true}, {without, false}} {
		b, err := os.ReadFile(filepath.Join(dir, c.side+".log"))
		if err != nil {
			return err
		}
		if got := bytes.Contains(b, []byte(auditLine)); got != c.want {
			return fmt.Errorf("%s: audit lines in its log = %v, want %v", c.side, got, c.want)
		}
	}
	return nil
}

// checkAuditInAccessLog: after the probes, the side with its own audit
// lines has written them beside its access lines, and the side with
// audit_line access_log none, its values being in its access lines.
func checkAuditInAccessLog(dir, own, inAccess string) error {
	const auditLine, accessField = `"msg":"login_guard"`, `"login_guard":{"route":"login"`
	for _, c := range []struct {
		side           string
		line, inAccess bool
	}{{own, true, false}, {inAccess, false, true}} {
		guard, err := os.ReadFile(filepath.Join(dir, c.side+".log"))
		if err != nil {
			return err
		}
		access, err := os.ReadFile(filepath.Join(dir, c.side+"-access.log"))
		if err != nil {
			return err
		}
		if got := bytes.Contains(guard, []byte(auditLine)); got != c.line {
			return fmt.Errorf("%s: audit lines of its own = %v, want %v", c.side, got, c.line)
		}
		if got := bytes.Contains(access, []byte(accessField)); got != c.inAccess {
			return fmt.Errorf("%s: audit values in its access lines = %v, want %v", c.side, got, c.inAccess)
		}
	}
	return nil
}
