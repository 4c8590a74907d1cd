//go:build redis

package redistest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestStepUpReplayOutcomeCounted: the portal's answer to a held login,
// replayed on the instance other than the one that challenged it,
// counts once in the shared lockouts: a refused password is a failure
// (with one allowed per address, the address is locked on both
// instances), an accepted one resets its user's failures. The
// settlements go to Redis after the answers (redis.md), so the test
// waits for each to show in the admin listing before going on.
func TestStepUpReplayOutcomeCounted(t *testing.T) {
	srv := redisproc.Start(t)
	site := strings.Replace(stepUpSite, "\t\tstep_up /verify\n",
		"\t\tstep_up /verify\n\t\tlockout user 2/1h for 1h deny\n\t\tlockout ip 1/1h for 1h deny\n", 1)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), stepUpGlobal, site)
	same := map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}

	// stepUp challenges the browser's login on instance 0, passes the
	// factor and completes on instance 1, where the continuation is
	// replayed; hdr are the browser's extra headers.
	stepUp := func(b *browser, form string, hdr map[string]string, replayed int) {
		t.Helper()
		if resp := b.do(0, "POST", "/api/login", form, hdr); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
			t.Fatalf("challenge on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		b.passFactor()
		done := map[string]string{}
		for k, v := range hdr {
			done[k] = v
		}
		for k, v := range same {
			done[k] = v
		}
		if resp := b.do(1, "POST", "/verify/complete", "", done); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("completion on instance 1: %d", resp.StatusCode)
		}
		if resp := b.do(1, "POST", "/api/login", "", hdr); resp.StatusCode != replayed {
			t.Fatalf("continuation on instance 1: %d, want %d", resp.StatusCode, replayed)
		}
	}

	t.Run("failure locks the address", func(t *testing.T) {
		b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
		stepUp(b, strings.Replace(challengedForm, "correct+horse", "wrong", 1), nil, http.StatusSeeOther)
		if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 1 {
			t.Fatalf("the portal got the held login %d times", n)
		}
		awaitCounter(t, f, "ip=198.51.100.7", "lockout ip", func(e limitEntry) bool { return e.LockedUntil != nil },
			"the replay's failure to lock the address")
		if st, _ := f.login(t, 0, "/api/login", "198.51.100.7", "alice", password); st != http.StatusForbidden {
			t.Fatalf("login from the address after the replay's failure: %d, want 403", st)
		}
	})

	t.Run("success resets the user", func(t *testing.T) {
		// The sandbox challenges every login from 192.0.2.2.
		b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
		at := map[string]string{"X-Forwarded-For": "192.0.2.2"}
		fail := func(ip string) {
			t.Helper()
			if st, _ := f.login(t, 0, "/api/login", ip, "bob", "wrong"); st != http.StatusSeeOther {
				t.Fatalf("failed login from %s: %d", ip, st)
			}
			// The address's lock is settled after the user's failure
			// (the rules' order), in one pipeline: once it shows, so
			// has the failure.
			awaitCounter(t, f, "ip="+ip, "lockout ip", func(e limitEntry) bool { return e.LockedUntil != nil }, "a failure to land")
		}
		form := "username=bob&password=correct+horse"
		if resp := b.do(0, "POST", "/api/login", form, at); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
			t.Fatalf("challenge on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		fail("198.51.100.20")
		delete(b.jar, "login_guard_stepup")
		stepUp(b, form, at, http.StatusSeeOther)
		awaitCounter(t, f, "user=bob", "lockout user", func(e limitEntry) bool { return e.Count == 0 },
			"the replay's success to reset the user's failure")
		fail("198.51.100.21")
		if st, _ := f.login(t, 0, "/api/login", "198.51.100.22", "bob", password); st != http.StatusSeeOther {
			t.Fatalf("login after one failure since the replay's success: %d, want 303", st)
		}
	})
}

type limitEntry struct {
	Rule        string     `json:"rule"`
	Subject     string     `json:"subject"`
	Count       int        `json:"count"`
	LockedUntil *time.Time `json:"locked_until"`
}

// awaitCounter waits until instance 0's admin listing shows the counter
// of the rule (its counting part, e.g. "lockout ip") whose subject is
// subject (e.g. "ip=198.51.100.7") in the state ok wants, or fails
// saying what it waited for. A counter not listed is one with nothing
// counted.
func awaitCounter(t *testing.T, f *fleet, subject, rule string, ok func(limitEntry) bool, what string) {
	t.Helper()
	k, v, _ := strings.Cut(subject, "=")
	q := url.Values{k: {strings.TrimSuffix(v, "/32")}, "all": {"1"}}
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		body = f.admin(t, 0, http.MethodGet, "/login_guard/limits?"+q.Encode())
		var l struct{ Entries []limitEntry }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatalf("admin listing %s: %v", body, err)
		}
		found := limitEntry{}
		for _, e := range l.Entries {
			if strings.HasPrefix(e.Rule, rule+" ") && strings.HasPrefix(e.Subject, subject) {
				found = e
			}
		}
		if ok(found) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s: %s", what, body)
		}
	}
}
