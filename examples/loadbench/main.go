// Command loadbench measures what the guard costs against bare Caddy, in
// the same run, on loopback. Every party is its own process, all of them
// this binary re-executed in a role:
//
//	upstream   a trivial portal: 303 to every POST, "ok" to every GET
//	smartid    a fake SmartID answering every event 200
//	engine     a fake scoring service (the http engine's protocol) that
//	           answers allow after -engine-delay
//	redis      redis-server (the role execs it) on a free loopback port,
//	           nothing saved, maxmemory-policy noeviction; only when
//	           login_redis runs
//	caddy      Caddy with the login_guard modules: one bare, one floor
//	           for login_floor (stock directives only), one guarded,
//	           one guarded with SmartID on, one guarded with its rules'
//	           state in Redis (store redis) for login_redis, one
//	           guarded with its log file behind the buffered output for
//	           login_buffered, and one guarded whose log excludes the
//	           guard's logger for login_audit; a guarded Caddy serves
//	           each guarded route in a site (a port) of its own
//	load       the load generator when wrk is not installed (or -gen go)
//
// Every Caddy process logs to the same kind of sink (a file each, same
// config, never rolled; -log buffered puts the file behind the buffered
// output, -log discard drops every line); the guard's one audit line per
// request is part of its cost. redis-server's and the fake SmartID's CPU
// per request are reported besides Caddy's.
// The scenarios, each run against bare and guarded Caddy in every round,
// the rounds interleaved and the order rotated:
//
//	passthrough    GET of a page no login_guard matcher selects
//	login          POST /api/login guarded by local rules only, every
//	               request the same user from the same address
//	login_wave     the same route in a credential-stuffing wave: every
//	               request a new user from a new address (X-Forwarded-For
//	               through trusted_proxies, on both sides), so the rules
//	               make a counter a request and evict as they go
//	login_smartid  the same with SmartID on (fake SmartID in its process)
//	login_engine   the same with an engine that answers in a set time
//	deny           POST /api/login from a denied network (403)
//	login_buffered the login route on three sides in the same rounds:
//	               bare, guarded writing its audit lines to the log file,
//	               guarded writing them through the buffered output
//	               (with -log file only, the default)
//	login_audit    the login route on three sides in the same rounds:
//	               bare, guarded with its audit lines, guarded with
//	               Caddy's log excluding the guard's logger (no audit
//	               line encoded or written): the line's whole cost
//	login_smartid_1000
//	               the login route at a steady 1 000 requests a second
//	               (the Go generator paces it) on three sides in the same
//	               rounds: bare, guarded with SmartID off and with it on;
//	               the CPU per request is the point, not the req/s
//	login_floor    the login route on three sides in the same rounds:
//	               bare, guarded, and the floor: stock Caddy holding each
//	               POST's answer for a deferred Set-Cookie line as long
//	               as the guard's (no guard at all)
//	login_redis    the login route on three sides in the same rounds:
//	               bare, guarded with the memory store, guarded with
//	               the Redis store (skipped by default when redis-server
//	               is not installed)
//
// Then, unless -flood 0, a memory check: -flood distinct client addresses
// sent through trusted_proxies in X-Forwarded-For at a `rate ip` route,
// reporting the guarded process's RSS and goroutines before and after.
//
// It prints a table and writes the results as JSON (-out), which
// -table renders as the Markdown table the docs show and -compare diffs
// between two runs (two commits, say):
//
//	go run ./examples/loadbench -rounds 6 -duration 5s -out loadbench.json
//	go run ./examples/loadbench -table loadbench.json
//	go run ./examples/loadbench -compare before.json after.json
//
// All traffic stays on 127.0.0.1; every loop is bounded by the flags.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"
)

// options are the benchmark's flags.
type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	conns       int
	threads     int
	gen         string
	engineDelay time.Duration
	flood       int
	floodConns  int
	maxKeys     int
	out         string
	scenarios   string
	logSink     string
	accessLog   bool // every site logs each request (Caddy's access log), on both sides
	profile     string
	gc          string // equal or default: see collectorEnv
	gcLimit     int    // MiB, with -gc equal
}

func main() {
	if len(os.Args) > 1 {
		if role, ok := roles[os.Args[1]]; ok {
			role(os.Args[2:])
			return
		}
	}
	var o options
	flag.IntVar(&o.rounds, "rounds", 6, "interleaved rounds (each runs every scenario on both sides)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario, side and round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before the first round, per scenario and side")
	flag.IntVar(&o.conns, "c", 16, "keep-alive connections")
	flag.IntVar(&o.threads, "t", 2, "load generator threads (wrk -t)")
	flag.StringVar(&o.gen, "gen", "auto", "load generator: wrk, go, or auto (wrk when installed)")
	flag.DurationVar(&o.engineDelay, "engine-delay", 5*time.Millisecond, "how long the fake engine takes to answer")
	flag.IntVar(&o.flood, "flood", 1_000_000, "distinct client addresses for the memory check (0 skips it)")
	flag.IntVar(&o.floodConns, "flood-c", 16, "connections for the memory check")
	flag.IntVar(&o.maxKeys, "max-keys", 100_000, "rules_store max_keys on the guarded side")
	flag.StringVar(&o.out, "out", "loadbench.json", "write the results here as JSON (empty: don't)")
	flag.StringVar(&o.scenarios, "scenarios", "", "comma-separated subset of scenarios (default all)")
	flag.StringVar(&o.logSink, "log", "file", "Caddy's log sink on both sides: file, buffered or discard")
	flag.BoolVar(&o.accessLog, "access-log", false, "every site on both sides logs each request (Caddy's access log) to the same sink as -log")
	flag.StringVar(&o.gc, "gc", gcEqual, "Go's collector in every Caddy: equal (GOGC=off and the same GOMEMLIMIT, so neither side collects more often for keeping more live memory) or default (Go's own pacing)")
	flag.IntVar(&o.gcLimit, "gc-limit", 256, "GOMEMLIMIT of every Caddy with -gc equal, in MiB")
	flag.StringVar(&o.profile, "profile", "", "write CPU profiles of each side, one per scenario (first round): the guarded side as <prefix>-<scenario>.pprof, the others as <prefix>-<scenario>-<side>.pprof")
	table := flag.String("table", "", "print the Markdown table of a results file and exit")
	summary := flag.String("summary", "", "print the short Markdown table of a results file (the README's) and exit")
	compare := flag.Bool("compare", false, "compare two results files (old new) and exit")
	flag.Parse()

	render, file := markdownTable, *table
	if *summary != "" {
		render, file = markdownSummary, *summary
	}
	switch {
	case file != "":
		r, err := readResults(file)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(render(r))
		return
	case *compare:
		if flag.NArg() != 2 {
			log.Fatal("-compare needs two results files: old new")
		}
		a, err := readResults(flag.Arg(0))
		if err != nil {
			log.Fatal(err)
		}
		b, err := readResults(flag.Arg(1))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(compareResults(a, b))
		return
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}
