//go:build redis

package redistest

import (
	"net/http"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestLogoutAtMaxmemory: a Redis at maxmemory (a flood of new users and
// addresses fills it: redis.md, "what breaks first") still answers
// reads, so the other instances still check sessions there. A logout
// served then must reach Redis, or a copy of its cookie is a session on
// every other instance for as long as Redis stays full.
func TestLogoutAtMaxmemory(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms", "", logoutSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	cookie := b.signIn(0, "fullredis")
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	if resp := b.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1 with Redis at maxmemory: %d", resp.StatusCode)
	}
	// A stolen copy of the cookie, replayed on the other instance while
	// Redis is still full.
	b.jar["login_guard"] = &http.Cookie{Name: "login_guard", Value: cookie}
	b.do(0, "POST", "/api/logout", "", nil)
	var got []string
	if err := f.procs[0].WaitLog(func(map[string]any) bool {
		got = logouts(f.procs[0].LogLines())
		return len(got) >= 1
	}, 5*time.Second); err != nil {
		t.Fatalf("no audit line for the replayed logout on instance 0: %v", err)
	}
	if got[0] != "skipped_no_session" {
		t.Fatalf("a cookie logged out on instance 1 with Redis at maxmemory, replayed on instance 0: smartid %q, want no session", got[0])
	}
}
