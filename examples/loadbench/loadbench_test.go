package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestConfigsValidate: the eight Caddy configs the benchmark writes adapt
// and validate with the login_guard modules, so a run never measures a
// config Caddy would refuse; the Redis side keeps its state in Redis, the
// buffered side writes its log file through the buffered output, the
// no-audit side's log excludes the guard's logger (and only that side's),
// and all three have the memory side's routes.
func TestConfigsValidate(t *testing.T) {
	dir := t.TempDir()
	svc := services{upstream: 9001, smartid: 9002, engine: 9003, redis: 9004}
	site := func(cfg string) string {
		_, after, _ := strings.Cut(cfg, "\nhttp://")
		return after
	}
	var memorySite string
	for _, name := range []string{"bare", "floor", "guarded", "guarded_smartid", "guarded_redis", "guarded_buffered", "guarded_noaudit", "guarded_accesslog"} {
		guard := strings.HasPrefix(name, "guarded")
		s := &side{name: name, port: 9100, admin: 9200}
		if guard {
			s.sites = map[string]int{}
			for i, rt := range guardedRoutes[1:] {
				s.sites[rt.path] = 9101 + i
			}
		}
		cfg := caddyfile(s, svc, dir, options{logSink: "file", maxKeys: 1000})
		raw, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": name})
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, cfg)
		}
		for _, w := range warn {
			t.Errorf("%s: warning %s", name, w)
		}
		if err := caddy.Validate(mustConfig(t, raw)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if excluded := strings.Contains(string(raw), `"exclude":["http.handlers.login_guard"]`); excluded != (name == "guarded_noaudit") {
			t.Fatalf("%s: the guard's logger excluded = %v:\n%s", name, excluded, raw)
		}
		fileOut := "output file " + filepath.Join(dir, name+".log") + " {\n\t\t\troll_disabled\n"
		bufferedOut := "output buffered {\n\t\t\toutput file " + filepath.Join(dir, name+".log") + " {\n\t\t\t\troll_disabled\n"
		if name == "guarded_buffered" {
			fileOut = bufferedOut
		}
		if !strings.Contains(cfg, fileOut) {
			t.Fatalf("%s: not the log file wanted, or it may roll (and be compressed mid-run):\n%s", name, cfg)
		}
		if got := strings.Contains(cfg, "login_guard @") || strings.Contains(cfg, "\tlogin_guard {"); got != guard {
			t.Fatalf("%s: guarded routes present = %v", name, got)
		}
		// Each guard route has a site of its own, where the scenario's
		// requests meet no other route's matcher.
		for _, blk := range strings.Split(cfg, "\nhttp://")[1:] {
			if n := strings.Count(blk, "login_guard @"); n > 1 {
				t.Fatalf("%s: a site with %d guard routes:\n%s", name, n, blk)
			}
		}
		for _, rt := range guardedRoutes {
			if guard && !strings.Contains(cfg, fmt.Sprintf("127.0.0.1:%d {\n\t@%s {", s.portFor(rt.path), rt.name)) {
				t.Fatalf("%s: %s is not served on its own port %d:\n%s", name, rt.path, s.portFor(rt.path), cfg)
			}
		}
		redis := strings.Contains(cfg, "store redis {\n\t\t\taddress 127.0.0.1:9004\n")
		if redis != (name == "guarded_redis") || (redis && strings.Contains(cfg, "rules_store")) {
			t.Fatalf("%s: store redis present = %v:\n%s", name, redis, cfg)
		}
		// -log buffered: the same file behind the buffered output, which
		// validates too.
		buf := caddyfile(s, svc, dir, options{logSink: "buffered", maxKeys: 1000})
		if !strings.Contains(buf, bufferedOut) {
			t.Fatalf("%s: -log buffered is not the file behind the buffered output:\n%s", name, buf)
		}
		if raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(buf), map[string]any{"filename": name}); err != nil {
			t.Fatalf("%s, buffered: %v", name, err)
		} else if err := caddy.Validate(mustConfig(t, raw)); err != nil {
			t.Fatalf("%s, buffered: %v", name, err)
		}
		// The floor: bare's proxy, with POSTs' answers held for one
		// deferred cookie line.
		floor := fmt.Sprintf("\t@post method POST\n\theader @post {\n\t\t+Set-Cookie %q\n\t\tdefer\n\t}\n\treverse_proxy 127.0.0.1:9001\n}\n", floorCookie)
		if got := strings.HasSuffix(cfg, floor); got != (name == "floor") {
			t.Fatalf("%s: the floor's site present = %v:\n%s", name, got, cfg)
		}
		switch name {
		case "guarded":
			memorySite = site(cfg)
		case "guarded_redis", "guarded_buffered", "guarded_noaudit":
			if site(cfg) != memorySite {
				t.Fatalf("%s's routes differ from the memory side's:\n%s\n%s", name, site(cfg), memorySite)
			}
		}
	}
	for name, also := range map[string]string{"login_redis": "guarded_redis", "login_buffered": "guarded_buffered", "login_audit": "guarded_noaudit", "login_floor": "floor"} {
		sc, err := selectScenarios(name)
		if err != nil || len(sc) != 1 || sc[0].side != "guarded" || sc[0].also != also {
			t.Fatalf("%s: %+v, %v", name, sc, err)
		}
		if _, ok := alsoSides[also]; !ok {
			t.Fatalf("%s: no table labels for %s", name, also)
		}
	}
}

// TestCheckFloorCookie: a run stops when the floor's cookie line is not
// as long as the guard's, or either answer has none or more than one.
func TestCheckFloorCookie(t *testing.T) {
	line := func(vs ...string) http.Header { return http.Header{"Set-Cookie": vs} }
	guard := strings.Repeat("x", len(floorCookie))
	if err := checkFloorCookie(line(guard), line(floorCookie)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ guarded, floor http.Header }{
		{line(guard + "x"), line(floorCookie)},
		{line(guard), line(floorCookie + "x")},
		{line(), line(floorCookie)},
		{line(guard), line()},
		{line(guard, guard), line(floorCookie, floorCookie)},
	} {
		if err := checkFloorCookie(c.guarded, c.floor); err == nil {
			t.Fatalf("%q against %q: accepted", c.floor, c.guarded)
		}
	}
}

// TestBufferedNeedsLogFile: login_buffered compares the log file with the
// buffered output, so asked for with another sink it is refused before
// anything starts.
func TestBufferedNeedsLogFile(t *testing.T) {
	for _, sink := range []string{"discard", "buffered"} {
		err := run(options{scenarios: "login_buffered", logSink: sink, rounds: 1, gc: gcEqual, gcLimit: 256})
		if err == nil || !strings.Contains(err.Error(), "needs -log file") {
			t.Fatalf("-log %s: %v", sink, err)
		}
	}
}

// TestAccessLogScenarioNeedsAccessLog: login_access_log compares two ways
// of logging beside Caddy's access log, so asked for without -access-log
// it is refused before anything starts.
func TestAccessLogScenarioNeedsAccessLog(t *testing.T) {
	err := run(options{scenarios: "login_access_log", logSink: "file", rounds: 1, gc: gcEqual, gcLimit: 256})
	if err == nil || !strings.Contains(err.Error(), "needs -access-log") {
		t.Fatalf("without -access-log: %v", err)
	}
}

// TestAccessLogConfigs: with -access-log every site of every side, bare
// included, writes Caddy's access log to its side's own file (never
// rolled), through the side's sink, and the configs still validate.
func TestAccessLogConfigs(t *testing.T) {
	dir := t.TempDir()
	svc := services{upstream: 9001, smartid: 9002, engine: 9003, redis: 9004}
	for _, name := range []string{"bare", "guarded", "guarded_noaudit", "guarded_accesslog", "guarded_buffered"} {
		s := &side{name: name, port: 9100, admin: 9200, sites: map[string]int{}}
		if name != "bare" {
			for i, rt := range guardedRoutes[1:] {
				s.sites[rt.path] = 9101 + i
			}
		}
		cfg := caddyfile(s, svc, dir, options{logSink: "file", maxKeys: 1000, accessLog: true})
		raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": name})
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, cfg)
		}
		if err := caddy.Validate(mustConfig(t, raw)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := strings.Contains(string(raw), `"audit_line":"access_log"`); got != (name == "guarded_accesslog") {
			t.Fatalf("%s: audit_line access_log = %v", name, got)
		}
		sites := strings.Split(cfg, "\nhttp://")[1:]
		want := "\tlog {\n\t\toutput file " + filepath.Join(dir, name+"-access.log") + " {\n\t\t\troll_disabled\n"
		if name == "guarded_buffered" {
			// The side's sink, as for its other lines.
			want = "\tlog {\n\t\toutput buffered {\n\t\t\toutput file " + filepath.Join(dir, name+"-access.log") + " {\n"
		}
		for _, blk := range sites {
			if !strings.Contains(blk, want) {
				t.Fatalf("%s: a site without its access log:\n%s", name, blk)
			}
		}
		if name == "bare" && len(sites) != 1 || name != "bare" && len(sites) != len(guardedRoutes) {
			t.Fatalf("%s: %d sites", name, len(sites))
		}
		if !strings.Contains(string(raw), `"logs":{"logger_names"`) && !strings.Contains(string(raw), `"logs":{"default_logger_name"`) {
			t.Fatalf("%s: no server access log in the JSON:\n%s", name, raw)
		}
	}
	if cfg := caddyfile(&side{name: "bare", port: 9100, admin: 9200}, svc, dir, options{logSink: "file"}); strings.Contains(cfg, "-access.log") {
		t.Fatalf("an access log without -access-log:\n%s", cfg)
	}
}

func mustConfig(t *testing.T, raw []byte) *caddy.Config {
	t.Helper()
	var c caddy.Config
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

const wrkOutput = `Running 5s test @ http://127.0.0.1:41234/api/login
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.52ms  31.19ms   88.62%
    Req/Sec     3.99k   412.37     4.80k    70.00%
  Latency Distribution
     50%    1.73ms
     75%    2.40ms
     90%    3.51ms
     99%    8.30ms
  39712 requests in 5.00s, 6.44MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:   7938.63
Transfer/sec:      1.29MB
`

func TestParseWrk(t *testing.T) {
	m, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := measurement{Requests: 39712, RPS: 7938.63, P50ms: 1.73, P99ms: 8.30, Unexpected: 15}
	if m.Requests != want.Requests || m.RPS != want.RPS || m.P50ms != want.P50ms || m.P99ms != want.P99ms || m.Unexpected != want.Unexpected {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	if _, err := parseWrk("wrk: connection refused"); err == nil {
		t.Fatal("output without a rate must be an error")
	}
	for in, ms := range map[string]float64{"850.00us": 0.85, "1.02s": 1020, "2.50ms": 2.5, "1.00m": 60000} {
		if got := wrkDuration(in); got < ms*0.999 || got > ms*1.001 {
			t.Errorf("%s: got %v ms, want %v", in, got, ms)
		}
	}
}

// TestSummaryAndTable: medians and the ratio's spread over rounds, and the
// Markdown table made from them.
func TestSummaryAndTable(t *testing.T) {
	s := scenarioResult{Name: "login"}
	for _, r := range []struct{ bare, guarded float64 }{{1000, 900}, {1000, 950}, {800, 600}, {1200, 1188}} {
		s.Rounds = append(s.Rounds, roundResult{
			Bare:    measurement{RPS: r.bare, P99ms: 10, CPUusPerReq: 100},
			Guarded: measurement{RPS: r.guarded, P99ms: 11, CPUusPerReq: 104},
			Ratio:   r.guarded / r.bare,
		})
	}
	s.summarise()
	u := s.Summary
	if u.Ratio != (0.9+0.95)/2 || u.RatioMin != 0.75 || u.RatioMax != 0.99 || u.BareRPS != 1000 || u.GuardCPUus != 4 {
		t.Fatalf("summary %+v", u)
	}
	if u.P99Ratio < 1.099 || u.P99Ratio > 1.101 {
		t.Fatalf("p99 ratio %v", u.P99Ratio)
	}
	table := markdownTable(&results{Meta: metadata{Rounds: 4}, Scenarios: []scenarioResult{s}})
	if !strings.Contains(table, "| login | 1000 | 925 | 0.925 | 0.750–0.990 |") {
		t.Fatalf("table:\n%s", table)
	}
}

// TestAlsoSummaryAndTable: a scenario with a third side (login_redis,
// login_buffered) summarises it against the same bare runs, and the table
// gets a row for each guarded side, named by what tells them apart.
func TestAlsoSummaryAndTable(t *testing.T) {
	for _, tc := range []struct {
		name, also, mainRow, alsoRow string
		store                        bool
	}{
		{"login_redis", "guarded_redis", "login_redis, memory store", "login_redis, Redis store", true},
		{"login_buffered", "guarded_buffered", "login_buffered, log file", "login_buffered, buffered log", false},
	} {
		s := scenarioResult{Name: tc.name, Also: tc.also}
		// The p99s: bare 10, 10, 8 ms; guarded 11, 12, 10 ms; the third
		// side 15 ms: medians 10, 11 and 15 ms, the rounds' own ratios
		// 1.10, 1.20, 1.25 and 1.50, 1.50, 1.875.
		for _, r := range []struct{ bare, memory, also, bareP99, p99 float64 }{{1000, 900, 800, 10, 11}, {1000, 950, 700, 10, 12}, {800, 600, 400, 8, 10}} {
			m := &measurement{RPS: r.also, P99ms: 15, CPUusPerReq: 130}
			if tc.store {
				m.StoreCPUusPerReq = 20
			}
			s.Rounds = append(s.Rounds, roundResult{
				Bare:      measurement{RPS: r.bare, P99ms: r.bareP99, CPUusPerReq: 100},
				Guarded:   measurement{RPS: r.memory, P99ms: r.p99, CPUusPerReq: 104},
				Ratio:     r.memory / r.bare,
				Also:      m,
				AlsoRatio: r.also / r.bare,
			})
		}
		s.summarise()
		x := s.Summary.Also
		if x == nil || x.RPS != 700 || x.Ratio != 0.7 || x.RatioMin != 0.5 || x.RatioMax != 0.8 || x.P99Ratio != 1.5 || x.GuardCPUus != 30 {
			t.Fatalf("%s: summary %+v", tc.name, x)
		}
		table := markdownTable(&results{Meta: metadata{Rounds: 3}, Scenarios: []scenarioResult{s}})
		for _, want := range []string{
			"| " + tc.mainRow + " | 1000 | 900 | 0.900 | 0.750–0.950 | 10.00 ms | 11.00 ms | 1.10 (1.10–1.25) | 100 µs | 104 µs | 4 µs |",
			"| " + tc.alsoRow + " | 1000 | 700 | 0.700 | 0.500–0.800 | 10.00 ms | 15.00 ms | 1.50 (1.50–1.88) | 100 µs | 130 µs | 30 µs |",
		} {
			if !strings.Contains(table, want) {
				t.Fatalf("table lacks %q:\n%s", want, table)
			}
		}
		if got := strings.Contains(table, "redis-server's own CPU per request on the Redis store's side: 20 µs"); got != tc.store {
			t.Fatalf("%s: redis-server's CPU line present = %v:\n%s", tc.name, got, table)
		}
	}
	// A scenario without a third side keeps its one row, unnamed.
	plain := scenarioResult{Name: "login", Rounds: []roundResult{{Bare: measurement{RPS: 1}, Guarded: measurement{RPS: 1}, Ratio: 1}}}
	plain.summarise()
	if plain.Summary.Also != nil || strings.Contains(markdownTable(&results{Scenarios: []scenarioResult{plain}}), "store") {
		t.Fatal("a scenario without a third side got its figures")
	}
}

// TestVendorCPUInTable: the SmartID stand-in's CPU per request, measured
// on the side that sends it events, is summarised as a median and named
// under the table, outside the Caddy columns; a scenario without one gets
// no such line.
func TestVendorCPUInTable(t *testing.T) {
	s := scenarioResult{Name: "login_smartid"}
	for _, v := range []float64{12, 30, 18} {
		s.Rounds = append(s.Rounds, roundResult{
			Bare:    measurement{RPS: 1000, CPUusPerReq: 100},
			Guarded: measurement{RPS: 800, CPUusPerReq: 120, VendorCPUusPerReq: v},
			Ratio:   0.8,
		})
	}
	s.summarise()
	if s.Summary.VendorCPUus != 18 || s.Summary.GuardCPUus != 20 {
		t.Fatalf("summary %+v", s.Summary)
	}
	table := markdownTable(&results{Meta: metadata{Rounds: 3}, Scenarios: []scenarioResult{s}})
	if want := "login_smartid: the SmartID stand-in's own CPU per request, on the same cores: 18 µs (median), not in the Caddy columns."; !strings.Contains(table, want) {
		t.Fatalf("table lacks %q:\n%s", want, table)
	}
	plain := scenarioResult{Name: "login", Rounds: []roundResult{{Bare: measurement{RPS: 1}, Guarded: measurement{RPS: 1}, Ratio: 1}}}
	plain.summarise()
	if strings.Contains(markdownTable(&results{Scenarios: []scenarioResult{plain}}), "stand-in") {
		t.Fatal("a scenario without SmartID got the stand-in's line")
	}
}

// TestPacedScenario: login_smartid_1000 compares SmartID off and on at a
// set rate; the table names its two rows, the stand-in's CPU on the
// SmartID side, and that its req/s are paced; wrk refuses to pace.
func TestPacedScenario(t *testing.T) {
	sc, err := selectScenarios("login_smartid_1000")
	if err != nil || len(sc) != 1 || sc[0].rate != 1000 || sc[0].side != "guarded" || sc[0].also != "guarded_smartid" {
		t.Fatalf("login_smartid_1000: %+v, %v", sc, err)
	}
	s := scenarioResult{Name: "login_smartid_1000", Also: "guarded_smartid", Rate: 1000}
	for _, v := range []float64{12, 30, 18} {
		s.Rounds = append(s.Rounds, roundResult{
			Bare:      measurement{RPS: 1000, CPUusPerReq: 150},
			Guarded:   measurement{RPS: 1000, CPUusPerReq: 160},
			Ratio:     1,
			Also:      &measurement{RPS: 1000, CPUusPerReq: 171, VendorCPUusPerReq: v},
			AlsoRatio: 1,
		})
	}
	s.summarise()
	table := markdownTable(&results{Meta: metadata{Rounds: 3, Connections: 16}, Scenarios: []scenarioResult{s}})
	for _, want := range []string{
		"| login_smartid_1000, SmartID off | 1000 | 1000 | 1.000 | 1.000–1.000 | 0.00 ms | 0.00 ms | 0.00 | 150 µs | 160 µs | 10 µs |",
		"| login_smartid_1000, SmartID on | 1000 | 1000 | 1.000 | 1.000–1.000 | 0.00 ms | 0.00 ms | 0.00 | 150 µs | 171 µs | 21 µs |",
		"login_smartid_1000, SmartID on: the SmartID stand-in's own CPU per request, on the same cores: 18 µs (median)",
		"login_smartid_1000: paced at 1000 requests a second by the Go generator (16 connections)",
	} {
		if !strings.Contains(table, want) {
			t.Fatalf("table lacks %q:\n%s", want, table)
		}
	}
	if _, err := (&wrkGen{}).run(request{rate: 1000}, time.Second, 0); err == nil || !strings.Contains(err.Error(), "cannot pace") {
		t.Fatalf("wrk with a rate: %v", err)
	}
}

// TestGeneratePaced: with a rate the Go generator sends each request when
// it is due, not as fast as it is answered.
func TestGeneratePaced(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusSeeOther)
	}))
	defer srv.Close()
	m := generate(request{method: "POST", url: srv.URL, body: "a=b", status: http.StatusSeeOther, rate: 200}, 4, 500*time.Millisecond, 0)
	// 200 a second for half a second is the 101 due at 0, 5, ... 500 ms;
	// unpaced, a loopback server answers thousands.
	if m.Requests < 50 || m.Requests > 101 || m.Unexpected != 0 || n.Load() != m.Requests {
		t.Fatalf("paced at 200/s for 500ms: %+v, server saw %d", m, n.Load())
	}
}

// TestCheckAuditExcluded: the run's check that login_audit's sides differ
// by the audit lines fails when the side meant to exclude them has one,
// or the other side has none.
func TestCheckAuditExcluded(t *testing.T) {
	dir := t.TempDir()
	line := `{"level":"info","ts":1,"logger":"http.handlers.login_guard","msg":"login_guard"}` + "\n"
	other := `{"level":"info","ts":1,"logger":"tls","msg":"cleaning storage unit"}` + "\n"
	write := func(side, s string) {
		if err := os.WriteFile(filepath.Join(dir, side+".log"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		with, without string
		ok            bool
	}{
		{line + other, other, true},
		{line, line, false},
		{other, other, false},
	} {
		write("guarded", c.with)
		write("guarded_noaudit", c.without)
		if err := checkAuditExcluded(dir, "guarded", "guarded_noaudit"); (err == nil) != c.ok {
			t.Errorf("with %q, without %q: %v", c.with, c.without, err)
		}
	}
}

// TestCollectorEnv: -gc equal gives every Caddy the same limit and no
// pacing by live heap, -gc default restores Go's pacing whatever the
// caller's environment holds, anything else is refused; the table's
// first line says which ran (and nothing for results from before the
// option).
func TestCollectorEnv(t *testing.T) {
	env, err := collectorEnv(gcEqual, 256)
	if err != nil || !slices.Equal(env, []string{"GOGC=off", "GOMEMLIMIT=256MiB"}) {
		t.Fatalf("equal: %q, %v", env, err)
	}
	if env, err = collectorEnv(gcDefault, 0); err != nil || !slices.Equal(env, []string{"GOGC=100", "GOMEMLIMIT=off"}) {
		t.Fatalf("default: %q, %v", env, err)
	}
	for _, bad := range []struct {
		mode  string
		limit int
	}{{"equal", 32}, {"off", 256}, {"", 256}} {
		if _, err := collectorEnv(bad.mode, bad.limit); err == nil {
			t.Errorf("-gc %q -gc-limit %d accepted", bad.mode, bad.limit)
		}
	}
	m := metadata{Rounds: 1, GC: collectorLabel(gcEqual, 256)}
	if table := markdownTable(&results{Meta: m}); !strings.Contains(table, "; Go collector: GOGC=off, GOMEMLIMIT=256MiB on every Caddy.") {
		t.Fatalf("table:\n%s", table)
	}
	if table := markdownTable(&results{Meta: metadata{Rounds: 1}}); strings.Contains(table, "collector") {
		t.Fatalf("a results file without the option names a collector:\n%s", table)
	}
}

// TestSummaryTable: the README's short table has a row per guarded side,
// and leaves out a paced scenario, whose throughput is the same on every
// side by design.
func TestSummaryTable(t *testing.T) {
	rounds := func(bare, guarded float64) []roundResult {
		return []roundResult{{Bare: measurement{RPS: bare, P99ms: 10, CPUusPerReq: 100}, Guarded: measurement{RPS: guarded, P99ms: 12, CPUusPerReq: 120}, Ratio: guarded / bare}}
	}
	login := scenarioResult{Name: "login", Rounds: rounds(1000, 880)}
	paced := scenarioResult{Name: "login_smartid_1000", Rate: 1000, Rounds: rounds(1000, 1000)}
	login.summarise()
	paced.summarise()
	table := markdownSummary(&results{Meta: metadata{Rounds: 1}, Scenarios: []scenarioResult{login, paced}})
	if !strings.Contains(table, "| login | 0.880× (0.88–0.88) | 1.20× | 20 µs |") || strings.Contains(table, "login_smartid_1000") {
		t.Fatalf("summary:\n%s", table)
	}
}

// TestParseGoroutines: the flood's goroutine count tells the kept-alive
// connections of an HTTP client (two goroutines each) from the rest, read
// from a real profile of this process with one such connection open.
func TestParseGoroutines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var prof strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&prof, 1); err != nil {
		t.Fatal(err)
	}
	c, err := parseGoroutines(strings.NewReader(prof.String()))
	if err != nil {
		t.Fatal(err)
	}
	// The client's read and write loops: one connection, kept alive.
	if c.keepAlive != 2 || c.total <= c.keepAlive {
		t.Fatalf("%+v (runtime counts %d):\n%s", c, runtime.NumGoroutine(), prof.String())
	}
	for _, bad := range []string{"", "total 3\n", "goroutine profile: total x\n", "goroutine profile: total 1\nx @ 0x1\n",
		"goroutine profile: total 1\n3 @ 0x1\n#\t0x1\tnet/http.(*persistConn).readLoop+0x1\n"} {
		if c, err := parseGoroutines(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: read as %+v", bad, c)
		}
	}
}

// TestMachineBusyInTable: the share of the machine's CPU time busy during
// each side's runs is summarised as medians and named under the table
// (the third side's too); a results file without it (every run before
// the figure) gets no such line; and the share is read from two /proc/stat
// readings, stolen time left out.
func TestMachineBusyInTable(t *testing.T) {
	s := scenarioResult{Name: "login_floor", Also: "floor"}
	for _, b := range [][3]float64{{0.90, 0.97, 0.91}, {0.80, 0.99, 0.85}, {0.95, 0.98, 0.93}} {
		s.Rounds = append(s.Rounds, roundResult{
			Bare:    measurement{RPS: 1000, CPUusPerReq: 100, MachineBusy: b[0]},
			Guarded: measurement{RPS: 800, CPUusPerReq: 120, MachineBusy: b[1]},
			Ratio:   0.8, Also: &measurement{RPS: 990, CPUusPerReq: 102, MachineBusy: b[2]}, AlsoRatio: 0.99,
		})
	}
	s.summarise()
	table := markdownTable(&results{Meta: metadata{Rounds: 3}, Scenarios: []scenarioResult{s}})
	_, alsoName := s.rowNames()
	want := "login_floor: the machine's CPUs busy 90 % of the time with bare Caddy, 98 % with the guard, 91 % with the side " +
		strings.TrimPrefix(alsoName, "login_floor, ") + " (medians; every process and the kernel)."
	if !strings.Contains(table, want) {
		t.Fatalf("table lacks %q:\n%s", want, table)
	}
	if strings.Contains(table, "hypervisor") {
		t.Fatalf("a run nothing was stolen from names the hypervisor:\n%s", table)
	}
	for i := range s.Rounds {
		s.Rounds[i].Bare.Stolen, s.Rounds[i].Guarded.Stolen, s.Rounds[i].Also.Stolen = 0.1, 0.3, 0.2
	}
	s.summarise()
	if want := "; the hypervisor took 20 % of the CPUs' time (median), which the runs did not get."; !strings.Contains(markdownTable(&results{Meta: metadata{Rounds: 3}, Scenarios: []scenarioResult{s}}), want) {
		t.Fatalf("table lacks %q", want)
	}
	plain := scenarioResult{Name: "login", Rounds: []roundResult{{Bare: measurement{RPS: 1}, Guarded: measurement{RPS: 1}, Ratio: 1}}}
	plain.summarise()
	if strings.Contains(markdownTable(&results{Scenarios: []scenarioResult{plain}}), "busy") {
		t.Fatal("a run without the figure got the busy line")
	}
	// user nice system idle iowait irq softirq steal: 40 busy, 40 idle
	// (idle and iowait) of 80, the steal of 1000 left out.
	before, err := parseCPUStat("cpu  100 0 100 500 100 0 0 7000 0 0\ncpu0 1 2 3\n")
	if err != nil || before != (cpuTotals{total: 800, idle: 600, steal: 7000}) {
		t.Fatalf("parse: %+v, %v", before, err)
	}
	after, _ := parseCPUStat("cpu  120 0 115 530 110 0 5 7020 0 0\n")
	if got := after.busyShareSince(before); got != 0.5 {
		t.Fatalf("busy share %v, want 0.5", got)
	}
	// 20 stolen of the 100 ticks that passed.
	if got := after.stolenShareSince(before); got != 0.2 {
		t.Fatalf("stolen share %v, want 0.2", got)
	}
	if _, err := parseCPUStat("intr 1 2 3\n"); err == nil {
		t.Fatal("a stat without the cpu line parsed")
	}
	if c, err := machineTicks(); err != nil || c.total <= 0 || c.idle > c.total {
		t.Fatalf("machineTicks: %+v, %v", c, err)
	}
}
