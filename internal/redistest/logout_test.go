//go:build redis

package redistest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

const logoutSite = `	@logout {
		method POST
		path /api/logout
	}
	login_guard @logout {
		event logout
	}`

// TestLogoutRevokesOnEveryInstance: a session logged out through one
// instance is no session on the other when its cookie is replayed.
func TestLogoutRevokesOnEveryInstance(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), "", logoutSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	cookie := b.signIn(0, "revoker")
	if resp := b.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1: %d", resp.StatusCode)
	}
	b.jar["login_guard"] = &http.Cookie{Name: "login_guard", Value: cookie} // a stolen copy, replayed
	b.do(0, "POST", "/api/logout", "", nil)
	// Each process's output reaches the test through a pipe of its own:
	// wait for both lines.
	for i, what := range []string{"the replayed logout", "the logout"} {
		if err := f.procs[i].WaitLog(func(l map[string]any) bool { return l["msg"] == "login_guard" && l["event"] == "logout" }, 5*time.Second); err != nil {
			t.Fatalf("no audit line for %s on instance %d: %v\n%s", what, i, err, f.procs[i].Log())
		}
	}
	got := map[int][]any{}
	for i, p := range f.procs {
		for _, l := range p.LogLines() {
			if l["msg"] == "login_guard" && l["event"] == "logout" {
				got[i] = append(got[i], l["smartid"])
			}
		}
	}
	// With a session the logout is reported (here: SmartID is not
	// configured); the replay on the other instance carries no session.
	if len(got[1]) != 1 || got[1][0] != "not_configured" || len(got[0]) != 1 || got[0][0] != "skipped_no_session" {
		t.Fatalf("logout audit lines by instance (smartid field): %v", got)
	}
}

// TestLogoutDuringAnOutage: a logout served while Redis is down still
// ends the session. The instance that served it refuses the cookie at
// once, and sends the logout to Redis once it is back, so the cookie
// replayed on another instance then is no session either.
func TestLogoutDuringAnOutage(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms", "", logoutSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	cookie := b.signIn(0, "outage")
	srv.Stop()
	if resp := b.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1 with Redis down: %d", resp.StatusCode)
	}
	if b.cookie("login_guard") != "" {
		t.Fatal("the logout with Redis down did not clear the guard cookie")
	}
	// sent counts the logouts each instance served; a process's audit
	// lines reach the test through its own pipe, so each replay waits for
	// the line of the logout it sent, by its position.
	sent := []int{0, 1}
	replay := func(i int) string {
		t.Helper()
		b.jar["login_guard"] = &http.Cookie{Name: "login_guard", Value: cookie} // a stolen copy
		b.do(i, "POST", "/api/logout", "", nil)
		sent[i]++
		var got []string
		if err := f.procs[i].WaitLog(func(map[string]any) bool {
			got = logouts(f.procs[i].LogLines())
			return len(got) >= sent[i]
		}, 5*time.Second); err != nil {
			t.Fatalf("no audit line for the replayed logout on instance %d: %v", i, err)
		}
		return got[sent[i]-1]
	}
	// The instance that served the logout refuses the cookie, Redis down.
	if got := replay(1); got != "skipped_no_session" {
		t.Fatalf("the cookie replayed where it was logged out, Redis down: smartid %q, want no session", got)
	}
	srv.Restart()
	if err := f.procs[1].WaitLog(func(l map[string]any) bool { return l["msg"] == "logouts kept through a redis outage sent" }, 10*time.Second); err != nil {
		t.Fatalf("the kept logout was not sent once Redis was back: %v\n%s", err, f.procs[1].Log())
	}
	// The other instance, once its own breaker lets calls through, finds
	// the logout in Redis. (A logout it served with its breaker still
	// open would end the session itself, so wait for the breaker first:
	// a login on the lockout route, which refuses without Redis.)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := f.login(t, 0, "/lock", "198.51.100.9", "probe", "wrong"); st == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance 0 never reached Redis again")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := replay(0); got != "skipped_no_session" {
		t.Fatalf("the cookie replayed on the other instance after Redis came back: smartid %q, want no session", got)
	}
}

// logouts are the smartid fields of a process's logout audit lines.
func logouts(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		if l["msg"] == "login_guard" && l["event"] == "logout" {
			s, _ := l["smartid"].(string)
			out = append(out, s)
		}
	}
	return out
}

// TestLogoutKeptThroughARestart: a logout served while Redis is down, by
// an instance that then stops before Redis is back, still ends the
// session: the stop saves it in Caddy's storage, the next start takes it
// back (refusing the cookie at once), and it reaches Redis once Redis
// answers, so the cookie replayed on another instance is no session.
func TestLogoutKeptThroughARestart(t *testing.T) {
	logoutKeptThrough(t, "restart", "logouts saved through a redis outage restored: refused here, sent to redis once it takes them",
		func(f *fleet, _ *redisproc.Server) error { return f.procs[1].Restart(20 * time.Second) })
}

// TestLogoutKeptThroughAStoreChange: a reload that changes the store block
// (here its timeout) gives the instance a new Redis connection, and Caddy
// starts the new config before it stops the old: the old connection's
// kept logout goes to the new config, which refuses the cookie and sends
// the logout once Redis answers.
func TestLogoutKeptThroughAStoreChange(t *testing.T) {
	logoutKeptThrough(t, "reload", "logouts kept through a redis outage handed to the running config",
		func(f *fleet, srv *redisproc.Server) error {
			changed := fmt.Sprintf(fleetCaddyfile, f.storage, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 400ms", f.portal.Listener.Addr(), "", logoutSite)
			return f.procs[1].Reload(changed)
		})
}

// logoutKeptThrough logs in on instance 0, logs out on instance 1 with
// Redis down, closes instance 1's Redis connection by event (a restart,
// a reload), waits for instance 1's log line carried (the kept logout
// taken on, one), brings Redis back, and checks that the logout was sent
// and that the cookie replayed on instance 0 is no session there.
func logoutKeptThrough(t *testing.T, user, carried string, event func(*fleet, *redisproc.Server) error) {
	t.Helper()
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms", "", logoutSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	cookie := b.signIn(0, user)
	srv.Stop()
	if resp := b.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1 with Redis down: %d", resp.StatusCode)
	}
	if err := event(f, srv); err != nil {
		t.Fatalf("%s of instance 1: %v", user, err)
	}
	if err := f.procs[1].WaitLog(func(l map[string]any) bool { return l["msg"] == carried && l["logouts"] == float64(1) }, 10*time.Second); err != nil {
		t.Fatalf("the kept logout was not taken on across the %s: %v\n%s", user, err, f.procs[1].Log())
	}
	srv.Restart()
	if err := f.procs[1].WaitLog(func(l map[string]any) bool { return l["msg"] == "logouts kept through a redis outage sent" }, 10*time.Second); err != nil {
		t.Fatalf("the logout was not sent once Redis was back: %v\n%s", err, f.procs[1].Log())
	}
	// Instance 0 reaches Redis again (its breaker closed: a login on the
	// lockout route, which refuses without Redis, goes through).
	for deadline := time.Now().Add(10 * time.Second); ; {
		if st, _ := f.login(t, 0, "/lock", "198.51.100.9", "probe", "wrong"); st == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance 0 never reached Redis again")
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.jar["login_guard"] = &http.Cookie{Name: "login_guard", Value: cookie} // a stolen copy
	b.do(0, "POST", "/api/logout", "", nil)
	var got []string
	if err := f.procs[0].WaitLog(func(map[string]any) bool {
		got = logouts(f.procs[0].LogLines())
		return len(got) >= 1
	}, 5*time.Second); err != nil {
		t.Fatalf("no audit line for the replayed logout on instance 0: %v", err)
	}
	if got[0] != "skipped_no_session" {
		t.Fatalf("the cookie replayed on the other instance after the %s and Redis's return: smartid %q, want no session", user, got[0])
	}
}

// signIn logs user in on instance i (the lockout route, which the portal
// answers 303 for the right password) and returns the guard's cookie.
func (b *browser) signIn(i int, user string) string {
	b.t.Helper()
	resp := b.do(i, "POST", "/lock", "username="+user+"&password=correct+horse", nil)
	cookie := b.cookie("login_guard")
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		b.t.Fatalf("login on instance %d: %d, guard cookie %q", i, resp.StatusCode, cookie)
	}
	return cookie
}
