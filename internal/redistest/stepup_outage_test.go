//go:build redis

package redistest

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestStepUpThroughARedisOutage: a step-up whose tokens cannot be checked
// because Redis hangs is told so (503, Retry-After, reason
// step_up_store_unavailable), not refused as a replay, and keeps its
// cookie; once Redis answers, the same state completes and the same
// continuation finishes the login, once; a second use of the
// continuation is refused as replayed.
func TestStepUpThroughARedisOutage(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms", stepUpGlobal, stepUpSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	same := map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}

	resp := b.do(0, "POST", "/api/login", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || b.cookie("login_guard_stepup") == "" {
		t.Fatalf("challenge on instance 0: %d", resp.StatusCode)
	}
	b.passFactor()
	state := b.cookie("login_guard_stepup")

	// The completion while Redis hangs: the state cannot be checked.
	srv.Pause()
	resp = b.do(1, "POST", "/verify/complete", "", same)
	srv.Resume()
	unavailable(t, f, 1, resp, "the completion")
	if b.cookie("login_guard_stepup") != state || b.cookie("login_guard_continue") != "" {
		t.Fatal("the completion that could not check the state dropped it or went on")
	}
	waitForRedis(t, f)
	resp = b.do(1, "POST", "/verify/complete", "", same)
	if resp.StatusCode != http.StatusTemporaryRedirect || b.cookie("login_guard_continue") == "" {
		t.Fatalf("the completion once Redis answers: %d", resp.StatusCode)
	}
	continuation := b.cookie("login_guard_continue")

	// The continuation while Redis hangs: nothing reaches the portal and
	// the cookie stays.
	srv.Pause()
	resp = b.do(0, "POST", "/api/login", "", nil)
	srv.Resume()
	unavailable(t, f, 0, resp, "the continuation")
	if b.cookie("login_guard_continue") != continuation {
		t.Fatal("the continuation that could not be checked was cleared")
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal saw %d logins during the outage", n)
	}

	// Redis back: the same continuation finishes the login, once.
	waitForRedis(t, f)
	resp = b.do(0, "POST", "/api/login", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("the continuation once Redis answers: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if b.cookie("login_guard_continue") != "" {
		t.Fatal("the continuation used was not cleared")
	}
	n, body := f.portal.Count("/api/login", "sandbox-challenge"), f.portal.Body("/api/login", "sandbox-challenge")
	if n != 1 || body != challengedForm {
		t.Fatalf("portal saw %d logins, body %q; want the original once", n, body)
	}

	// A second use, on the other instance: replayed.
	b.jar["login_guard_continue"] = &http.Cookie{Name: "login_guard_continue", Value: continuation}
	if resp := b.do(1, "POST", "/api/login", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the continuation used again: %d", resp.StatusCode)
	}
	if err := f.procs[1].WaitLog(hasReason("step_up_replayed"), 5*time.Second); err != nil {
		t.Fatalf("the continuation used again is not refused as replayed: %v\n%s", err, f.procs[1].Log())
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 1 {
		t.Fatalf("portal saw %d logins after the replay", n)
	}
}

// unavailable checks the answer to a step-up request made while Redis
// hung, and its audit line on instance i.
func unavailable(t *testing.T, f *fleet, i int, resp *http.Response, what string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s while Redis hangs: %d, Retry-After %q; want 503 with Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if err := f.procs[i].WaitLog(hasReason("step_up_store_unavailable"), 5*time.Second); err != nil {
		t.Fatalf("%s while Redis hangs: no audit line with step_up_store_unavailable: %v\n%s", what, err, f.procs[i].Log())
	}
	for _, l := range f.procs[i].LogLines() {
		if hasReason("step_up_replayed")(l) {
			t.Fatalf("%s while Redis hangs was audited as a replay: %v", what, l)
		}
	}
}

// hasReason matches an audit line whose reasons include reason.
func hasReason(reason string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		if l["msg"] != "login_guard" {
			return false
		}
		rs, _ := l["reasons"].([]any)
		return slices.Contains(rs, any(reason))
	}
}

// waitForRedis waits until both instances reach Redis again (their
// breakers closed): a login on the lockout route, which refuses without
// Redis, goes through on each (a user of its own each time, so that the
// probes' failures lock nobody out).
func waitForRedis(t *testing.T, f *fleet) {
	t.Helper()
	for i := range f.procs {
		user := fmt.Sprintf("probe-%d-%d", i, time.Now().UnixNano())
		for deadline := time.Now().Add(10 * time.Second); ; {
			if st, _ := f.login(t, i, "/lock", "198.51.100.9", user, "wrong"); st == http.StatusSeeOther {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d never reached Redis again", i)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
