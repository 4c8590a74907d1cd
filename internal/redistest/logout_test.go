//go:build redis

package redistest

import (
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
	resp := b.do(0, "POST", "/lock", "username=revoker&password=correct+horse", nil)
	cookie := b.cookie("login_guard")
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("login on instance 0: %d, guard cookie %q", resp.StatusCode, cookie)
	}
	if resp := b.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1: %d", resp.StatusCode)
	}
	b.jar["login_guard"] = &http.Cookie{Name: "login_guard", Value: cookie} // a stolen copy, replayed
	b.do(0, "POST", "/api/logout", "", nil)
	if err := f.procs[0].WaitLog(func(l map[string]any) bool { return l["msg"] == "login_guard" && l["event"] == "logout" }, 5*time.Second); err != nil {
		t.Fatalf("no audit line for the replayed logout: %v\n%s", err, f.procs[0].Log())
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
