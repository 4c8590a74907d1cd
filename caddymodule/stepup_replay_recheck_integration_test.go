package caddymodule_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// markedStepUpSite is stepUpSite with loginOpts and a /marker that
// answers marker, so a test can tell which config serves.
func markedStepUpSite(upstream *caddytest.Recorder, loginOpts, marker string) string {
	return strings.Replace(fmt.Sprintf(stepUpSite, loginOpts, upstream.Listener.Addr()),
		"\treverse_proxy", fmt.Sprintf("\trespond /marker %q\n\treverse_proxy", marker), 1)
}

// reloadGuarded loads site into the Caddy g runs, with the same listener,
// storage (so the same keys) and log file as caddytest.Start gave it, and
// waits until the new config answers and the old server is gone.
func reloadGuarded(t *testing.T, g *caddytest.Guarded, global, site, marker string) {
	t.Helper()
	port := strings.TrimPrefix(g.URL, "http://127.0.0.1:")
	cfg := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput file %s\n\t\tformat json\n\t\tlevel DEBUG\n\t}\n%s\n}\n%s\n",
		filepath.Join(filepath.Dir(g.LogPath), "storage"), g.LogPath, global, strings.ReplaceAll(site, "{{listen}}", "http://127.0.0.1:"+port))
	if err := caddy.Load(caddytest.Adapt(t, cfg), true); err != nil {
		t.Fatal(err)
	}
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := g.Client.Get(g.URL + "/marker")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if last = string(b); last == marker {
			oldServerGone(t, ":"+port)
			return
		}
	}
	t.Fatalf("reload not applied: /marker says %q, want %q", last, marker)
}

// continuedLogin takes c through a challenged login and its step-up, up
// to the completion's continuation cookie (the browser is about to
// follow the 307 back to the login).
func continuedLogin(t *testing.T, g *caddytest.Guarded, c *stepClient) {
	t.Helper()
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	passFactor(t, g, c)
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect || c.cookie("login_guard_continue") == "" {
		t.Fatalf("complete: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// loginsReceived counts the login POSTs the portal got for user.
func loginsReceived(upstream *caddytest.Recorder, user string) int {
	n := 0
	for _, r := range upstream.All() {
		if r.Path == "/api/login" && strings.Contains(string(r.Body), "username="+user+"&") {
			n++
		}
	}
	return n
}

// TestStepUpReplayAfterReloadAddsDenyIP: a config reload between the
// challenge and the completion gave the login route a deny_ip that
// covers the client. The held login, replayed under the new config, is
// refused (403, the generic deny) and never reaches the portal; the audit
// line says why, and the held login is gone.
func TestStepUpReplayAfterReloadAddsDenyIP(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, "", "one"))
	// A reload closes the old server's idle connections.
	g.Client.Transport = &http.Transport{DisableKeepAlives: true}
	c := newStepClient(t, g, "198.51.100.7")
	continuedLogin(t, g, c)
	continuation := c.cookie("login_guard_continue")

	reloadGuarded(t, g, stepUpGlobal, markedStepUpSite(upstream, "\t\tdeny_ip 198.51.100.0/24", "two"), "two")
	resp, body := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay after the reload: %d %s, want 403", resp.StatusCode, body)
	}
	if n := loginsReceived(upstream, "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal got the held login %d times", n)
	}
	login := auditReasons(t, g, "login")
	if last := login[len(login)-1]; strings.Join(last, " ") != "ip_denied step_up_replay_denied" {
		t.Fatalf("replay's audit reasons %v", last)
	}
	// The continuation was spent and the held login dropped: the same
	// cookie again finds nothing.
	c.jar["login_guard_continue"] = &http.Cookie{Name: "login_guard_continue", Value: continuation}
	if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the continuation again: %d", resp.StatusCode)
	}
	if n := loginsReceived(upstream, "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal got the held login %d times", n)
	}
}

// TestStepUpReplayAfterLockout: while the user passed the step-up, other
// failed logins from the same address reached the route's lockout. The
// held login is refused at the replay and never reaches the portal.
func TestStepUpReplayAfterLockout(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, "\t\tlockout ip 2/15m for 30m deny", "one"))
	c := newStepClient(t, g, "198.51.100.7")
	continuedLogin(t, g, c)
	for i := range 2 {
		other := newStepClient(t, g, "198.51.100.7")
		resp, _ := other.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password=wrong", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/account" {
			t.Fatalf("failed login %d: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	other := newStepClient(t, g, "198.51.100.7")
	if resp, _ := other.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the address is not locked: %d", resp.StatusCode)
	}
	resp, body := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay with the address locked: %d %s, want 403", resp.StatusCode, body)
	}
	if n := loginsReceived(upstream, "sandbox-challenge"); n != 0 {
		t.Fatalf("the portal got the held login %d times", n)
	}
	login := auditReasons(t, g, "login")
	if last := login[len(login)-1]; strings.Join(last, " ") != "lockout_ip step_up_replay_denied" {
		t.Fatalf("replay's audit reasons %v", last)
	}
}

// TestStepUpWithheldAnswerAfterReloadAddsDenyIP: with evaluate
// after_upstream the portal's answer to the challenged login is withheld;
// after a reload whose deny_ip covers the client, the completion does not
// release it: 403, no portal session for the browser.
func TestStepUpWithheldAnswerAfterReloadAddsDenyIP(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, stepUpGlobal, markedStepUpSite(upstream, "\t\tevaluate after_upstream", "one"))
	g.Client.Transport = &http.Transport{DisableKeepAlives: true}
	c := newStepClient(t, g, "198.51.100.7")
	continuedLogin(t, g, c)
	reloadGuarded(t, g, stepUpGlobal, markedStepUpSite(upstream, "\t\tevaluate after_upstream\n\t\tdeny_ip 198.51.100.0/24", "two"), "two")
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden || cookieNamed(resp, "portal_session") != nil || cookieNamed(resp, "login_guard") != nil {
		t.Fatalf("release after the reload: %d %v, want 403 without the session", resp.StatusCode, resp.Cookies())
	}
	login := auditReasons(t, g, "login")
	if last := login[len(login)-1]; strings.Join(last, " ") != "ip_denied step_up_replay_denied" {
		t.Fatalf("release's audit reasons %v", last)
	}
}
