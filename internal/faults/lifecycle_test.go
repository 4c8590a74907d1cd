//go:build faults

package faults

import (
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

// TestReloadUnderLoad: logins flow while the config is reloaded four
// times (the last reload drops the smartid block, so the old queue's
// last user lets go of it). No login fails or loses its SmartID event,
// the counters carry over and keep moving, and the metrics agree with
// what the fake SmartID received. The portal answers after 30ms, so
// each reload finds logins of the old config waiting on it, whose
// lockout tickets are settled after its Cleanup; no request may panic
// (caddyproc fails the test on a panic in the log).
func TestReloadUnderLoad(t *testing.T) {
	pt, sid := newPortal(t), newSmartID(t)
	sid.SetMode(smartidfake.Slow)
	pt.SetDelay(30 * time.Millisecond)
	cfg := func(name string) string {
		return guardConfig(pt.URL, sid.URL, "", "\t\tname "+name)
	}
	p := caddyproc.Start(t, cfg("first"), caddyproc.Options{})
	base := p.URL("http")
	l := startLoad(base, 4, 5*time.Millisecond)
	for i, name := range []string{"second", "third", "fourth"} {
		time.Sleep(300 * time.Millisecond)
		if err := p.Reload(cfg(name)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	// Metrics after three reloads, with the queue still shared.
	results := l.end()
	waitFor(t, 10*time.Second, "the queue to drain", func() bool {
		return metric(t, base+"/metrics", `caddy_login_guard_smartid_queue_depth{queue="`+queueLabel(t, base)+`"}`) == "0"
	})
	// An empty queue can still have an event in a worker's hands: the
	// counter moves when its answer is read, just after the fake counted
	// it, so wait for the two to meet rather than read once.
	var sent string
	deadline := time.Now().Add(10 * time.Second)
	for {
		sent = metric(t, base+"/metrics", `caddy_login_guard_smartid_events_total{kind="login",result="sent"}`)
		if sent == strconv.FormatInt(sid.Accepted(), 10) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sent != strconv.FormatInt(sid.Accepted(), 10) {
		t.Errorf("smartid_events_total sent=%s after reloads, the fake accepted %d", sent, sid.Accepted())
	}
	var decisions int
	for _, route := range []string{"first", "second", "third", "fourth"} {
		if v := metric(t, base+"/metrics", `caddy_login_guard_decisions_total{action="allow",reason="none",route="`+route+`"}`); v != "" {
			n, _ := strconv.Atoi(v)
			decisions += n
		}
	}
	if int64(decisions) != l.sent.Load()-int64(results[0]) {
		t.Errorf("decisions_total over the routes = %d, %d logins were answered", decisions, l.sent.Load()-int64(results[0]))
	}
	// One more reload under load, to a config without SmartID.
	l = startLoad(base, 4, 5*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	if err := p.Reload(guardConfig(pt.URL, "", "", "\t\tname fifth")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for s, n := range l.end() {
		results[s] += n
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	// A connection error is the old server closing an idle keep-alive
	// connection just as a request was sent on it (any HTTP server's
	// reload race, not the guard's): such a request never reached the
	// guard. Every login that reached it got the portal's answer.
	if results[http.StatusSeeOther] == 0 || len(results) > 2 || (len(results) == 2 && results[0] == 0) {
		t.Errorf("logins during reloads: %s (want only 303)", statusCounts(results))
	}
	// Logins served by the SmartID-less config legitimately say
	// not_configured; all others must balance.
	smartIDBalance(t, p, sid.Accepted(), "fifth")
}

// TestSIGTERMUnderLoad: SIGTERM while logins flow and SmartID is slow.
// The process exits within its grace and drain bounds, every login that
// got an answer got a real one, and every event is delivered or counted
// and logged as dropped.
func TestSIGTERMUnderLoad(t *testing.T) {
	pt, sid := newPortal(t), newSmartID(t)
	sid.SetMode(smartidfake.Slow)
	p := caddyproc.Start(t, guardConfig(pt.URL, sid.URL, "", ""), caddyproc.Options{})
	l := startLoad(p.URL("http"), 6, 0)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// drain 3s, in-flight wait bounded by it too: well within 20s.
	if err := p.Wait(20 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	took := time.Since(start)
	results := l.end()
	for s := range results {
		if s != http.StatusSeeOther && s != 0 {
			t.Errorf("a login got %d during shutdown", s)
		}
	}
	t.Logf("shutdown took %v; answers %s", took, statusCounts(results))
	smartIDBalance(t, p, sid.Accepted(), "")
}

// TestRestartThenStepUpAtOnce: restart under load, then at once a
// challenged login and the passkey endpoints: keys come from storage,
// no request sees a half-started guard (503 with Retry-After at most),
// nothing panics or drops a connection.
func TestRestartThenStepUpAtOnce(t *testing.T) {
	pt := newPortal(t)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", "\t\tstart_wait 2s\n", "\t\tengines sandbox\n\t\tstep_up /verify"), caddyproc.Options{})
	base := p.URL("http")
	for round := range 3 {
		l := startLoad(base, 3, 10*time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		if err := p.Stop(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		l.end()
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			if err := p.Restart(20 * time.Second); err != nil {
				t.Error(err)
			}
		}()
		// Hammer the port while Caddy comes up: every answer that
		// arrives is a real one or 503 + Retry-After.
		c := client(5 * time.Second)
		host := map[string]string{"Host": "localhost:" + strconv.Itoa(p.Port("http")), "X-Forwarded-For": "192.0.2.2"}
		for up := false; !up; {
			select {
			case <-restarted:
				up = true
			default:
			}
			r := post(c, base+"/api/login", "application/x-www-form-urlencoded", "username=u&password="+password, host)
			if r.err == nil && r.status != http.StatusSeeOther && !(r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "") {
				t.Fatalf("round %d: a login during start got %d %s", round, r.status, r.body)
			}
			time.Sleep(2 * time.Millisecond)
		}
		stepUpWorks(t, base, p.Port("http"))
	}
	for _, l := range p.LogLines() {
		if msg, _ := l["msg"].(string); strings.Contains(msg, "panic") {
			t.Errorf("panic logged: %v", l)
		}
	}
}

// stepUpWorks runs a challenged login and the passkey endpoints.
func stepUpWorks(t *testing.T, base string, port int) {
	t.Helper()
	c := client(5 * time.Second)
	host := "localhost:" + strconv.Itoa(port)
	r := post(c, base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password,
		map[string]string{"Host": host, "X-Forwarded-For": "198.51.100.20"})
	if r.err != nil || r.status != http.StatusSeeOther || r.header.Get("Location") != "/verify" {
		t.Fatalf("challenged login after start: %d %v", r.status, r.err)
	}
	var state string
	for _, sc := range r.header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(sc, "login_guard_stepup="); ok {
			state, _, _ = strings.Cut(v, ";")
		}
	}
	hdr := map[string]string{"Host": host, "X-Forwarded-For": "198.51.100.20", "Cookie": "login_guard_stepup=" + state, "X-Login-Guard": "1"}
	req, _ := http.NewRequest(http.MethodGet, base+"/verify", nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("step-up page: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("step-up page: %d", resp.StatusCode)
	}
	for _, path := range []string{"/verify/passkey/begin", "/verify/passkey/register/begin"} {
		r := post(c, base+path, "application/json", "{}", hdr)
		if r.err != nil || r.status >= 500 {
			t.Fatalf("%s after start: %d %v", path, r.status, r.err)
		}
	}
}

// queueLabel finds the SmartID queue's metric label.
func queueLabel(t *testing.T, base string) string {
	t.Helper()
	_, rest, ok := strings.Cut(metricsPage(t, base+"/metrics"), `caddy_login_guard_smartid_queue_depth{queue="`)
	if !ok {
		t.Fatal("no queue depth gauge")
	}
	label, _, _ := strings.Cut(rest, `"`)
	return label
}

// TestLogoutOutlivesARestart: a guard session ended by a logout stays
// ended after the process restarts on the same storage (a deploy): the
// stolen copy of its cookie, replayed after the restart, is no session.
func TestLogoutOutlivesARestart(t *testing.T) {
	pt := newPortal(t)
	p := caddyproc.Start(t, guardConfig(pt.URL, "", "", ""), caddyproc.Options{})
	c := client(5 * time.Second)
	r := login(c, p.URL("http"), "u")
	var cookie string
	for _, sc := range r.header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(sc, "login_guard="); ok {
			cookie, _, _ = strings.Cut(v, ";")
		}
	}
	if r.status != http.StatusSeeOther || cookie == "" {
		t.Fatalf("login: %d, guard cookie %q", r.status, cookie)
	}
	logout := func() string {
		t.Helper()
		before := len(audit(p))
		if r := post(c, p.URL("http")+"/api/logout", "", "", map[string]string{"Cookie": "login_guard=" + cookie}); r.status != http.StatusOK && r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d %v", r.status, r.err)
		}
		var got string
		waitFor(t, 5*time.Second, "the logout's audit line", func() bool {
			lines := audit(p)
			for _, l := range lines[min(before, len(lines)):] {
				if l["event"] == "logout" {
					got, _ = l["smartid"].(string)
					return true
				}
			}
			return false
		})
		return got
	}
	if got := logout(); got != "not_configured" {
		t.Fatalf("the first logout found no session (%q)", got)
	}
	if got := logout(); got != "skipped_no_session" {
		t.Fatalf("the cookie replayed after its logout is a session (%q)", got)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := logout(); got != "skipped_no_session" {
		t.Fatalf("the cookie replayed after a restart is a session again (%q)", got)
	}
}
