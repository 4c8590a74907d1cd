//go:build redis

package redistest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestStepUpReplayAfterLockoutOnAnotherInstance: while a user passes the
// step-up of a login held on one instance, failed logins from the same
// address on the other instance lock the address (in Redis). The held
// login is refused when its continuation comes back to the first
// instance, which peeks at the shared lockout, and never reaches the
// portal.
func TestStepUpReplayAfterLockoutOnAnotherInstance(t *testing.T) {
	srv := redisproc.Start(t)
	site := strings.Replace(stepUpSite, "\t\tstep_up /verify\n", "\t\tstep_up /verify\n\t\tlockout ip 2/1h for 1h deny\n", 1)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), stepUpGlobal, site)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}

	if resp := b.do(0, "POST", "/api/login", challengedForm, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.passFactor()
	if resp := b.do(1, "POST", "/verify/complete", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("completion on instance 1: %d", resp.StatusCode)
	}
	for i := range 2 {
		if st, _ := f.login(t, 1, "/api/login", "198.51.100.7", "alice", "wrong"); st != http.StatusSeeOther {
			t.Fatalf("failed login %d on instance 1: %d", i, st)
		}
	}
	if st, _ := f.login(t, 0, "/api/login", "198.51.100.7", "alice", password); st != http.StatusForbidden {
		t.Fatalf("the address is not locked on instance 0: %d", st)
	}
	if resp := b.do(0, "POST", "/api/login", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("continuation on instance 0 with the address locked: %d, want 403", resp.StatusCode)
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal got the held login %d times", n)
	}
}
