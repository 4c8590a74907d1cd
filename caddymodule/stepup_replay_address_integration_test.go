package caddymodule_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// The step-up state binds a continuation to the login's address prefix
// only (step_up ip_prefix: IPv6 /64, IPv4 /32 by default), so the
// browser may finish from another address of the prefix. The replay is
// judged under the held login's own address as well as the
// continuation's, and its outcome counts against the login's.

// TestStepUpReplayFromAnotherAddressOfThePrefix: a reload between the
// challenge and the completion added a deny_ip for the login's single
// IPv6 address; the continuation comes from another address of its /64.
// The held login is not replayed (403), nor is a withheld answer
// released (evaluate after_upstream).
func TestStepUpReplayFromAnotherAddressOfThePrefix(t *testing.T) {
	for _, c := range []struct{ name, opts string }{
		{"replay", ""},
		{"withheld answer", "\t\tevaluate after_upstream"},
	} {
		t.Run(c.name, func(t *testing.T) {
			upstream := caddytest.NewRecorder(t, portalFake())
			g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, c.opts, "one"))
			g.Client.Transport = &http.Transport{DisableKeepAlives: true}
			b := newStepClient(t, g, "2001:db8::7")
			continuedLogin(t, g, b)
			logins := loginsReceived(upstream, "sandbox-challenge")

			reloadGuarded(t, g, stepUpGlobal, markedStepUpSite(upstream, c.opts+"\n\t\tdeny_ip 2001:db8::7/128", "two"), "two")
			b.ip = "2001:db8::8"
			resp, body := b.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
			if resp.StatusCode != http.StatusForbidden || cookieNamed(resp, "portal_session") != nil {
				t.Fatalf("continuation from 2001:db8::8: %d %v %s, want 403 without the session", resp.StatusCode, resp.Cookies(), body)
			}
			if n := loginsReceived(upstream, "sandbox-challenge"); n != logins {
				t.Fatalf("the portal got the held login %d more times", n-logins)
			}
			login := auditReasons(t, g, "login")
			if last := login[len(login)-1]; strings.Join(last, " ") != "ip_denied step_up_replay_denied" {
				t.Fatalf("continuation's audit reasons %v", last)
			}
		})
	}
}

// ipPrefix24 lets a continuation come from anywhere in the login's
// IPv4 /24.
const ipPrefix24 = "\t\tip_prefix 24\n"

// TestStepUpReplayFromAnotherAddressAfterLockout: while the user passed
// the step-up, failed logins from the held login's address locked it;
// the continuation, from another address of the /24 the state binds,
// is refused all the same.
func TestStepUpReplayFromAnotherAddressAfterLockout(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, ipPrefix24+"\t\tlockout ip 2/15m for 30m deny", "one"))
	b := newStepClient(t, g, "198.51.100.7")
	continuedLogin(t, g, b)
	for i := range 2 {
		other := newStepClient(t, g, "198.51.100.7")
		if resp, _ := other.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password=wrong", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/account" {
			t.Fatalf("failed login %d: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	b.ip = "198.51.100.8"
	resp, body := b.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("continuation from 198.51.100.8 with the login's address locked: %d %s, want 403", resp.StatusCode, body)
	}
	if n := loginsReceived(upstream, "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal got the held login %d times", n)
	}
	login := auditReasons(t, g, "login")
	if last := login[len(login)-1]; strings.Join(last, " ") != "lockout_ip step_up_replay_denied" {
		t.Fatalf("continuation's audit reasons %v", last)
	}
}

// TestStepUpReplayOutcomeCountsAgainstTheLoginsAddress: a held login
// whose password the portal refuses, replayed from another address of
// the /24, counts its failure against the address the login came from
// (locked after one), not the continuation's. Behind a trusted proxy the
// portal is told the login's address (the held X-Forwarded-For, with the
// proxy's appended by reverse_proxy).
func TestStepUpReplayOutcomeCountsAgainstTheLoginsAddress(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, ipPrefix24+"\t\tlockout ip 1/1h for 1h deny", "one"))
	b := newStepClient(t, g, "198.51.100.7")
	wrong := strings.Replace(challengedForm, "password="+password, "password=wrong", 1)
	if wrong == challengedForm {
		t.Fatal("no password to replace in the challenged form")
	}
	resp, _ := b.do("POST", "/api/login", "application/x-www-form-urlencoded", wrong, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	passFactor(t, g, b)
	if resp, _ := b.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	b.ip = "198.51.100.8"
	if resp, _ := b.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/account" {
		t.Fatalf("replay: %d %q, want the portal's refusal", resp.StatusCode, resp.Header.Get("Location"))
	}
	var replayed []caddytest.Received
	for _, r := range upstream.All() {
		if r.Path == "/api/login" && strings.Contains(string(r.Body), "username=sandbox-challenge&") {
			replayed = append(replayed, r)
		}
	}
	if len(replayed) != 1 {
		t.Fatalf("the portal got the held login %d times", len(replayed))
	}
	if xff := replayed[0].Header.Get("X-Forwarded-For"); xff != "198.51.100.7, 127.0.0.1" {
		t.Fatalf("the replay told the portal X-Forwarded-For %q", xff)
	}
	if resp, _ := newStepClient(t, g, "198.51.100.7").do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login from the held login's address: %d, want 403 (locked by the replay's failure)", resp.StatusCode)
	}
	if resp, _ := newStepClient(t, g, "198.51.100.8").do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("login from the continuation's address: %d %q, want the portal's 303 (not locked)", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestWithheldAnswerResetsOnlyWhenReleased: with evaluate after_upstream,
// the portal's success to a login the engines challenge is withheld.
// It resets the user's failures only when it is released after the
// step-up passed: a withheld answer never released resets nothing, so a
// right password alone does not clear the count.
func TestWithheldAnswerResetsOnlyWhenReleased(t *testing.T) {
	site := func(upstream *caddytest.Recorder) string {
		return markedStepUpSite(upstream, "\t\tevaluate after_upstream\n\t\tlockout user 3/1h for 1h deny", "one")
	}
	fail := func(t *testing.T, g *caddytest.Guarded) {
		t.Helper()
		resp, _ := newStepClient(t, g, "198.51.100.9").do("POST", "/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password=wrong", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/account" || resp.Header.Get("Location") == "/verify" {
			t.Fatalf("failed login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	withheld := func(t *testing.T, g *caddytest.Guarded) *stepClient {
		t.Helper()
		b := newStepClient(t, g, "198.51.100.7")
		resp, _ := b.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
			t.Fatalf("right password, answer withheld: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return b
	}
	// locked reports whether the user is locked: a login with the right
	// password is refused (403) rather than challenged.
	locked := func(t *testing.T, g *caddytest.Guarded) bool {
		t.Helper()
		resp, _ := newStepClient(t, g, "198.51.100.10").do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
		switch {
		case resp.StatusCode == http.StatusForbidden:
			return true
		case resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/verify":
			return false
		}
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		return false
	}

	t.Run("never released", func(t *testing.T) {
		g := caddytest.Start(t, stepUpGlobal, site(caddytest.NewRecorder(t, portalFake())))
		fail(t, g)
		fail(t, g)
		withheld(t, g) // its step-up never passes
		fail(t, g)
		if !locked(t, g) {
			t.Fatal("three failures, the right password withheld between them, did not lock the user")
		}
	})
	t.Run("released", func(t *testing.T) {
		g := caddytest.Start(t, stepUpGlobal, site(caddytest.NewRecorder(t, portalFake())))
		fail(t, g)
		b := withheld(t, g)
		fail(t, g) // two failures: the withheld success reset nothing
		passFactor(t, g, b)
		if resp, _ := b.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("complete: %d", resp.StatusCode)
		}
		if resp, _ := b.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || cookieNamed(resp, "portal_session") == nil {
			t.Fatalf("release: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The release reset the two failures: two more do not lock.
		fail(t, g)
		fail(t, g)
		if locked(t, g) {
			t.Fatal("the released answer did not reset the user's failures")
		}
	})
}
