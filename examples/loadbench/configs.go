package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// side is one Caddy under test.
type side struct {
	name  string // bare, floor, guarded, or a guarded variant: guarded_smartid, guarded_redis, guarded_buffered, guarded_noaudit, guarded_accesslog
	port  int    // its first site's (bare has one site)
	admin int
	// sites are the ports of a guarded side's other sites, by the path of
	// the route each holds (see guardedRoutes).
	sites map[string]int
	proc  *proc
	store *proc // the redis-server this side keeps its state in, or nil
	// vendor is the SmartID stand-in this side sends events to, or nil:
	// it runs on the same cores as Caddy and the load generator.
	vendor *proc
}

func (s *side) base() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// url is where path is served: by the site of its route on a guarded
// side, else by the first site.
func (s *side) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.portFor(path), path)
}

func (s *side) portFor(path string) int {
	if p, ok := s.sites[path]; ok {
		return p
	}
	return s.port
}

// ports the fake services listen on.
type services struct {
	upstream, smartid, engine int
	redis                     int // 0 when no scenario needs Redis
}

// caddyfile is the config of one side. Every side shares the global
// options (storage, log sink, trusted proxies, admin for the goroutine
// count) and the site's paths; the guarded sides add login_guard routes,
// the same on each. guarded_redis keeps the rules' state in Redis (`store
// redis`) instead of memory (`rules_store`, which Redis replaces);
// guarded_buffered writes its log file through the buffered output (the
// scenario that runs it needs -log file).
//
// The log file never rolls. Caddy's file output rolls at 100 MiB and
// gzips the rolled file inside the Caddy process; a run writes a few
// hundred MiB of audit lines on a guarded side (none on bare), so the
// compression, about half a CPU-second a roll, would land in whichever
// round filled the file and count there as the guard's. Its cost per line
// is stated on its own in docs/performance.md.
func caddyfile(s *side, svc services, dir string, o options) string {
	var b strings.Builder
	sink := o.logSink
	if s.name == "guarded_buffered" {
		sink = "buffered"
	}
	// output is the sink's output block for a log file named name, as it
	// reads in a log block of the global options or of a site (both two
	// tabs in).
	output := func(name string) string {
		switch sink {
		case "file":
			return "file " + filepath.Join(dir, name) + " {\n\t\t\troll_disabled\n\t\t}"
		case "buffered":
			return "buffered {\n\t\t\toutput file " + filepath.Join(dir, name) + " {\n\t\t\t\troll_disabled\n\t\t\t}\n\t\t}"
		}
		return "discard"
	}
	out := output(s.name + ".log")
	// With -access-log every site of every side, bare included, logs each
	// request to a file of its own side, through the same sink as the
	// side's other lines, so neither side's line is cheaper for its output.
	access := ""
	if o.accessLog {
		access = "\tlog {\n\t\toutput " + output(s.name+"-access.log") + "\n\t}\n"
	}
	exclude := ""
	if s.name == "guarded_noaudit" {
		exclude = "\n\t\texclude http.handlers.login_guard"
	}
	fmt.Fprintf(&b, `{
	admin 127.0.0.1:%d
	storage file_system %s
	log {
		output %s
		level INFO%s
	}
	servers {
		trusted_proxies static 127.0.0.0/8
	}
`, s.admin, filepath.Join(dir, s.name+"-storage"), out, exclude)
	if strings.HasPrefix(s.name, "guarded") {
		b.WriteString("\tlogin_guard {\n")
		if s.name == "guarded_redis" {
			fmt.Fprintf(&b, "\t\tstore redis {\n\t\t\taddress 127.0.0.1:%d\n\t\t}\n", svc.redis)
		} else {
			fmt.Fprintf(&b, "\t\trules_store {\n\t\t\tmax_keys %d\n\t\t}\n", o.maxKeys)
		}
		fmt.Fprintf(&b, "\t\thttp slow {\n\t\t\turl http://127.0.0.1:%d/score\n\t\t\ttimeout 2s\n\t\t}\n", svc.engine)
		if s.name == "guarded_smartid" {
			fmt.Fprintf(&b, "\t\tsmartid {\n\t\t\tendpoint http://127.0.0.1:%d\n\t\t\tlicense bench-license\n\t\t\tchannel 1\n\t\t}\n", svc.smartid)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	if s.name == "bare" {
		fmt.Fprintf(&b, "http://127.0.0.1:%d {\n%s\treverse_proxy 127.0.0.1:%d\n}\n", s.port, access, svc.upstream)
		return b.String()
	}
	if s.name == "floor" {
		// Stock Caddy doing the part of guarding a login that does not
		// depend on the guard: the answer's head held for a cookie to be
		// added to it (a deferred header), and one Set-Cookie line as
		// long as the guard's session cookie. The body streams upstream
		// as on bare Caddy: with request_buffers Caddy's proxy would send
		// head and body in one write, a saving it gives only to bodies
		// its own buffering read, so not to the guard's either.
		fmt.Fprintf(&b, "http://127.0.0.1:%d {\n%s\t@post method POST\n\theader @post {\n\t\t+Set-Cookie %q\n\t\tdefer\n\t}\n\treverse_proxy 127.0.0.1:%d\n}\n",
			s.port, access, floorCookie, svc.upstream)
		return b.String()
	}
	for _, rt := range guardedRoutes {
		body := rt.body
		if s.name == "guarded_accesslog" {
			body += "\t\taudit_line access_log\n"
		}
		fmt.Fprintf(&b, "http://127.0.0.1:%d {\n%s\t@%s {\n\t\tmethod POST\n\t\tpath %s\n\t}\n\tlogin_guard @%s {\n%s\t}\n\treverse_proxy 127.0.0.1:%d\n}\n",
			s.portFor(rt.path), access, rt.name, rt.path, rt.name, body, svc.upstream)
	}
	return b.String()
}

// guardedRoutes are the guarded sides' routes, each in a site of its own
// (its own port): Caddy compiles a site's whole route list for every
// request and evaluates the matchers of the routes it passes, so a route
// of one scenario in the site of another would count, in the other's
// figures, as the guard's cost. A scenario's request meets one guard
// route, as on a portal's site with one guarded path; the first site's
// also serves the pass-through scenario, which its route does not select.
var guardedRoutes = []struct{ name, path, body string }{
	// Local rules as a portal would set them. Every benchmark request
	// comes from one address, so the rate rule is in monitor mode: it
	// counts and judges every attempt as it would in earnest (what is
	// measured is that cost), and logs instead of refusing. The lockout
	// holds a slot per attempt in flight, and the Redis store keeps it
	// until the settlement it sends after the answer lands, so its limit
	// is well above the benchmark's connections. (Every request is one
	// user's, from one address: the slots of a thousand logins a second
	// count against one key, where a real user's are a few.)
	{"login", "/api/login", `		name login
		event login
		deny_ip 203.0.113.0/24
		rate ip 10000/1m deny monitor
		lockout ip_user 1000/15m for 30m challenge
		device missing challenge
`},
	{"engine", "/api/login-engine", `		name login_engine
		event login
		rate ip 10000/1m deny monitor
		engines slow
		deadline 1s
		on_engine_failure allow
`},
	{"denied", "/api/login-denied", `		name login_denied
		event login
		deny_ip 127.0.0.0/8
`},
	{"flood", "/api/flood", `		name flood
		event login
		rate ip 5/1m deny
`},
}

// scenario is one kind of request, sent to bare Caddy and to the guard.
type scenario struct {
	name string
	side string // the guarded side it runs against
	// also is a third side measured in the same rounds against the same
	// bare runs (see alsoSides), or "".
	also   string
	method string
	path   string // on the guarded side; bare gets barePath
	bare   string
	body   string
	status int  // the guarded side's expected status
	wave   bool // a new user from a new address each request (see request.wave)
	rate   int  // > 0: paced at this many requests a second (see request.rate)
}

// floorCookie is as long as the guard's session cookie line for the
// benchmark's login (198 bytes after "Set-Cookie: "), so the floor side's
// answer is the guarded one's size; a run checks it (checkFloorCookie).
var floorCookie = "login_guard=" + strings.Repeat("A", 139) + "; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax"

const loginForm = "username=jlopez&password=secret&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"

var allScenarios = []scenario{
	{name: "passthrough", side: "guarded", method: "GET", path: "/static/app.css", bare: "/static/app.css", status: 200},
	{name: "login", side: "guarded", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	{name: "login_wave", side: "guarded", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303, wave: true},
	{name: "login_smartid", side: "guarded_smartid", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	{name: "login_engine", side: "guarded", method: "POST", path: "/api/login-engine", bare: "/api/login", body: loginForm, status: 303},
	{name: "deny", side: "guarded", method: "POST", path: "/api/login-denied", bare: "/api/login", body: loginForm, status: 403},
	{name: "login_buffered", side: "guarded", also: "guarded_buffered", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	// The audit line's whole cost (encoding and writing), measured in the
	// same rounds: the guard with its lines, and with Caddy's log
	// excluding the guard's logger, so no line is encoded at all.
	{name: "login_audit", side: "guarded", also: "guarded_noaudit", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	// With Caddy's access log on both sides (-access-log only): the guard
	// writing its own audit line beside each access line, and putting its
	// values in the access line instead (audit_line access_log).
	{name: "login_access_log", side: "guarded", also: "guarded_accesslog", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	// SmartID's cost at a steady, moderate rate, where its worker wakes
	// for a few events at a time instead of pipelining a full batch: the
	// guarded side's CPU per request with SmartID off and on.
	{name: "login_smartid_1000", side: "guarded", also: "guarded_smartid", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303, rate: 1000},
	// The floor: stock Caddy holding each login's answer to add a cookie
	// as long as the guard's, beside the guard, in the same rounds: what
	// a guard of a login pays in Caddy before it does anything of its own.
	{name: "login_floor", side: "guarded", also: "floor", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
	{name: "login_redis", side: "guarded", also: "guarded_redis", method: "POST", path: "/api/login", bare: "/api/login", body: loginForm, status: 303},
}

// alsoSides are the third sides a scenario may measure, each with the
// labels of its two guarded rows in the table: the scenario's side's and
// its own.
var alsoSides = map[string]struct{ main, also string }{
	// The rules' state in Redis instead of memory.
	"guarded_redis": {"memory store", "Redis store"},
	// The same guard with its audit lines written through the buffered
	// output instead of straight to the file: what the output saves,
	// measured in the same rounds, where the machine's drift cannot
	// pass for it.
	"guarded_buffered": {"log file", "buffered log"},
	// The guard's logger excluded from Caddy's log: no audit line is
	// encoded or written (what the audit line costs, by its absence).
	"guarded_noaudit": {"audit lines", "audit lines excluded"},
	// The guard's values in Caddy's access line instead of a line of
	// their own.
	"guarded_accesslog": {"own audit line", "audit in access log"},
	// Stock Caddy holding the answer to add a cookie, no guard.
	"floor": {"guard", "floor (stock Caddy)"},
	// SmartID on: each login sends its event.
	"guarded_smartid": {"SmartID off", "SmartID on"},
}

func selectScenarios(list string) ([]scenario, error) {
	if list == "" {
		return allScenarios, nil
	}
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, s := range allScenarios {
			if s.name == strings.TrimSpace(name) {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q", name)
		}
	}
	return out, nil
}
