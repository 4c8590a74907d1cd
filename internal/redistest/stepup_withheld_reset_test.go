//go:build redis

package redistest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestWithheldAnswerResetsWhenReleased: with evaluate after_upstream the
// portal's success to a login the engines challenge is withheld on one
// instance. It resets the user's failures in Redis only when it is
// released, here on the other instance after the step-up passed: a
// withheld answer never released resets nothing. The settlements go to
// Redis after the answers, so the test waits for each to show in the
// admin listing.
func TestWithheldAnswerResetsWhenReleased(t *testing.T) {
	srv := redisproc.Start(t)
	site := strings.Replace(stepUpSite, "\t\tstep_up /verify\n",
		"\t\tstep_up /verify\n\t\tevaluate after_upstream\n\t\tlockout user 4/1h for 1h deny\n", 1)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), stepUpGlobal, site)
	const user = "user=sandbox-challenge"
	// count: the user's failures are n (or, at the limit, the user is
	// locked).
	count := func(n int) func(limitEntry) bool {
		return func(e limitEntry) bool { return e.Count == n || n == 4 && e.LockedUntil != nil }
	}
	fail := func(instance, want int) {
		t.Helper()
		if st, _ := f.login(t, instance, "/api/login", "198.51.100.30", "sandbox-challenge", "wrong"); st != http.StatusSeeOther {
			t.Fatalf("failed login on instance %d: %d", instance, st)
		}
		awaitCounter(t, f, user, "lockout user", count(want), fmt.Sprintf("the user's failures to reach %d", want))
	}
	withheld := func() *browser {
		t.Helper()
		b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
		if resp := b.do(0, "POST", "/api/login", challengedForm, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
			t.Fatalf("right password, answer withheld on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return b
	}

	// Never released: the failures before and after add up and lock.
	// (The withheld login's slot is given back after its answer, as its
	// instance's settlements go: the failure sent to the same instance
	// next shows once that has landed.)
	fail(0, 1)
	fail(1, 2)
	withheld()
	fail(0, 3)
	fail(1, 4)
	if st, _ := f.login(t, 1, "/api/login", "198.51.100.31", "sandbox-challenge", password); st != http.StatusForbidden {
		t.Fatalf("login after four failures, a withheld success among them: %d, want 403", st)
	}
	f.admin(t, 0, http.MethodDelete, "/login_guard/limits?user=sandbox-challenge")
	awaitCounter(t, f, user, "lockout user", count(0), "the admin reset")

	// Released on instance 1: the reset comes with the release.
	fail(0, 1)
	b := withheld()
	fail(0, 2)
	b.passFactor()
	if resp := b.do(1, "POST", "/verify/complete", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("completion on instance 1: %d", resp.StatusCode)
	}
	if resp := b.do(1, "POST", "/api/login", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("release on instance 1: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	awaitCounter(t, f, user, "lockout user", count(0), "the release to reset the user's failures")
	fail(0, 1)
	fail(1, 2)
	fail(0, 3)
	if st, _ := f.login(t, 0, "/api/login", "198.51.100.31", "sandbox-challenge", password); st != http.StatusSeeOther {
		t.Fatalf("login after three failures since the release: %d, want 303", st)
	}
}
