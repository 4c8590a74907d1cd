package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestRateRulesGuardTheStepUpEndpoints: the step-up route is a guarded
// route like any other, so a rate rule on it limits its page and its
// passkey endpoints per client (an attacker holding a password cannot
// hammer the second factor).
func TestRateRulesGuardTheStepUpEndpoints(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := strings.Replace(fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()),
		"\t\t\tmethods passkey\n", "\t\t\tmethods passkey\n\t\t\trate ip 3/1m deny\n", 1)
	g := caddytest.Start(t, stepUpGlobal, site)
	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	statuses := []int{}
	for range 3 {
		resp, _ := c.do("POST", "/verify/passkey/begin", "application/json", "{}", map[string]string{"X-Login-Guard": "1"})
		statuses = append(statuses, resp.StatusCode)
	}
	resp, _ = c.do("GET", "/verify", "", "", nil)
	statuses = append(statuses, resp.StatusCode)
	// The user has no passkey yet, so the endpoint itself answers 403
	// (passkey_no_credentials); what matters is that the first three reach
	// it and the fourth is stopped by the rule first.
	reasons := []string{}
	for _, l := range g.AuditLines(t)[1:] {
		reasons = append(reasons, fmt.Sprint(l["reasons"]))
	}
	if fmt.Sprint(statuses) != "[403 403 403 429]" || resp.Header.Get("Retry-After") == "" ||
		strings.Join(reasons, " ") != "[passkey_no_credentials] [passkey_no_credentials] [passkey_no_credentials] [rate_ip]" {
		t.Fatalf("statuses %v reasons %v (Retry-After %q): the 4th step-up request must be limited", statuses, reasons, resp.Header.Get("Retry-After"))
	}
	// Another client is not affected.
	other := newStepClient(t, g, "198.51.100.8")
	if resp, _ := other.do("GET", "/verify", "", "", nil); resp.StatusCode == http.StatusTooManyRequests {
		t.Fatal("the limit is per client")
	}
}
