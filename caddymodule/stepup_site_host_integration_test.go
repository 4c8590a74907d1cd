package caddymodule_test

import (
	"net/http"
	"testing"
)

// TestStepUpStateStaysOnItsHost: a state sent to /verify on the login's
// site is finished on that host only, not on the /verify of another site
// of the same Caddy (which shares the token keys and may offer weaker
// factors), and the refusal does not spend it.
func TestStepUpStateStaysOnItsHost(t *testing.T) {
	c, g, a, b := startTwoSites(t)
	resp := c.do("POST", a+"/api/login", challengedForm)
	state := setCookie(resp, "__Host-login_guard_stepup")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" || state == "" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := []*http.Cookie{{Name: "__Host-login_guard_stepup", Value: state}, factorFor(t, g, state)}
	resp = c.do("POST", b+"/verify/complete", "", cookies...)
	if resp.StatusCode != http.StatusForbidden || setCookie(resp, "__Host-login_guard_continue") != "" {
		t.Fatalf("finished on another site: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantAuditReason(t, g, "step_up_host_mismatch")
	resp = c.do("POST", a+"/verify/complete", "", cookies...)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" {
		t.Fatalf("complete on the login's host: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
