package caddymodule_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// operationRoute is a transfer guarded as an operation whose every request
// is challenged.
const operationRoute = `	@transfer {
		method POST
		path /api/transfer
	}
	login_guard @transfer {
		event operation
		name transfer
		step_up /verify
		session_cookie portal_session
		when "true" challenge always
	}
	handle /verify* {`

// portalSessionOption binds the login route's guard sessions to the
// portal's session cookie, as the operation route needs.
const portalSessionOption = "\t\tsession_cookie portal_session"

// startOperationSite starts the step-up site with the transfer route
// (operationRoute), both routes binding the guard session to the portal's.
func startOperationSite(t *testing.T) (*caddytest.Recorder, *caddytest.Guarded) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := strings.Replace(fmt.Sprintf(stepUpSite, portalSessionOption, upstream.Listener.Addr()), "\thandle /verify* {", operationRoute, 1)
	return upstream, caddytest.Start(t, stepUpGlobal, site)
}

// signInAliceAndMallory signs in two users, each from an address of their
// own, each with a guard and a portal session of their own.
func signInAliceAndMallory(t *testing.T, g *caddytest.Guarded) (alice, mallory *stepClient) {
	form := "application/x-www-form-urlencoded"
	alice = newStepClient(t, g, "198.51.100.7")
	alice.do("POST", "/api/login", form, "username=alice&password="+password, nil)
	mallory = newStepClient(t, g, "198.51.100.8")
	mallory.do("POST", "/api/login", form, "username=mallory&password="+password, nil)
	if alice.cookie("portal_session") == "" || mallory.cookie("login_guard") == "" || alice.cookie("portal_session") == mallory.cookie("portal_session") {
		t.Fatalf("logins: alice's portal session %q, mallory's %q", alice.cookie("portal_session"), mallory.cookie("portal_session"))
	}
	return alice, mallory
}

// TestOperationStepUpAsksTheSessionsUser: an operation acts on the
// portal's session, so its step-up must be passed by the signed-in user,
// never by a user the body names. An attacker holding a victim's session
// who adds username=<their own account> to a transfer would otherwise
// pass the step-up with their own passkey.
func TestOperationStepUpAsksTheSessionsUser(t *testing.T) {
	upstream, g := startOperationSite(t)
	form := "application/x-www-form-urlencoded"

	// No guard session: nobody the step-up could ask.
	anon := newStepClient(t, g, "198.51.100.9")
	if resp, _ := anon.do("POST", "/api/transfer", form, "username=mallory&amount=5", nil); resp.StatusCode != http.StatusForbidden || anon.cookie("login_guard_stepup") != "" {
		t.Fatalf("an operation without a session: %d, state %q", resp.StatusCode, anon.cookie("login_guard_stepup"))
	}

	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
		t.Fatalf("alice's login: %d", resp.StatusCode)
	}
	// alice's session, another user in the body.
	if resp, _ := c.do("POST", "/api/transfer", form, "username=mallory&amount=5", nil); resp.StatusCode != http.StatusForbidden || c.cookie("login_guard_stepup") != "" {
		t.Fatalf("an operation naming another user: %d", resp.StatusCode)
	}
	reasons := auditReasons(t, g, "transfer")
	// (Another user beside the session is refused before any step-up:
	// TestOperationRulesCountTheSessionsUser.)
	if len(reasons) != 2 || !hasReason(reasons[:1], "step_up_no_session") || !hasReason(reasons[1:], "operation_user_mismatch") {
		t.Fatalf("audit reasons %v", reasons)
	}

	// alice's own transfer: the step-up is hers, and passing it replays
	// the transfer once.
	resp, _ := c.do("POST", "/api/transfer", form, "amount=5", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("alice's transfer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := passFactor(t, g, c); st.User != "alice" || !st.Operation {
		t.Fatalf("the step-up asks %q (operation %v), not the session's alice for an operation", st.User, st.Operation)
	}
	resp, _ = c.do("POST", "/verify/complete", form, "", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/transfer" {
		t.Fatalf("complete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	before := len(upstream.All())
	c.do("POST", "/api/transfer", form, "", nil)
	up := upstream.All()
	if len(up) != before+1 || up[len(up)-1].Path != "/api/transfer" || string(up[len(up)-1].Body) != "amount=5" {
		t.Fatalf("the portal got %d requests after the step-up", len(up)-before)
	}
	lines := g.AuditLines(t)
	if last := lines[len(lines)-1]; last["route"] != "transfer" || last["user"] != "alice" || last["action"] != "allow" {
		t.Fatalf("the replayed transfer's audit line: %v", last)
	}
}

// TestOperationStepUpNeedsThePortalsSession: the guard session counts on
// an operation only beside the portal session it was issued with. A thief
// holding alice's portal session who adds the guard cookie of a login of
// their own would otherwise be asked for their own factor, and the portal
// would move alice's money.
func TestOperationStepUpNeedsThePortalsSession(t *testing.T) {
	upstream, g := startOperationSite(t)
	form := "application/x-www-form-urlencoded"
	alice, mallory := signInAliceAndMallory(t, g)

	// mallory's guard session beside alice's portal session: no session.
	thief := newStepClient(t, g, "198.51.100.8")
	thief.jar["login_guard"] = mallory.jar["login_guard"]
	thief.jar["portal_session"] = alice.jar["portal_session"]
	if resp, _ := thief.do("POST", "/api/transfer", form, "amount=5", nil); resp.StatusCode != http.StatusForbidden || thief.cookie("login_guard_stepup") != "" {
		t.Fatalf("a stolen portal session beside another guard session: %d", resp.StatusCode)
	}
	// alice's own guard session, and a second portal_session a portal
	// might read instead (Django keeps the last of two): ambiguous, no
	// session either.
	for _, extra := range []string{"portal_session=" + mallory.cookie("portal_session"), "portal%5Fsession=" + mallory.cookie("portal_session"), "portal.session=x"} {
		resp, _ := alice.do("POST", "/api/transfer", form, "amount=5", map[string]string{"Cookie": extra})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("two portal sessions (%s): %d", extra, resp.StatusCode)
		}
	}
	reasons := auditReasons(t, g, "transfer")
	for i, l := range transferLines(t, g) {
		if l["session"] != "not_the_portal_session" || !hasReason(reasons[i:i+1], "step_up_no_session") {
			t.Fatalf("audit line %v", l)
		}
	}
	if len(reasons) != 4 {
		t.Fatalf("%d audit lines on the transfer route, want 4", len(reasons))
	}
	// alice with her own portal session is asked for her factor.
	if resp, _ := alice.do("POST", "/api/transfer", form, "amount=5", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("alice's transfer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(upstream.All()) != 2 {
		t.Fatalf("the portal got %d requests, want only the two logins", len(upstream.All()))
	}
}

// TestReplayKeepsThePortalSession: a thief who passed a transfer's
// step-up with their own guard and portal sessions cannot bring a stolen
// portal session to the continuation: the replay checks the guard
// session against the portal session it carries, as the first pass did.
func TestReplayKeepsThePortalSession(t *testing.T) {
	upstream, g := startOperationSite(t)
	form := "application/x-www-form-urlencoded"
	alice, mallory := signInAliceAndMallory(t, g)

	if resp, _ := mallory.do("POST", "/api/transfer", form, "amount=5000&to=mallory", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mallory's transfer: %d", resp.StatusCode)
	}
	if st := passFactor(t, g, mallory); st.User != "mallory" {
		t.Fatalf("the step-up asks %q", st.User)
	}
	if resp, _ := mallory.do("POST", "/verify/complete", form, "", map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	mallory.jar["portal_session"] = alice.jar["portal_session"]
	before := len(upstream.All())
	if resp, _ := mallory.do("POST", "/api/transfer", form, "", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the continuation with a stolen portal session: %d", resp.StatusCode)
	}
	if n := len(upstream.All()) - before; n != 0 {
		t.Fatalf("the portal got %d requests", n)
	}
	lines := transferLines(t, g)
	if last := lines[len(lines)-1]; last["session"] != "not_the_portal_session" || !hasReason(auditReasons(t, g, "transfer")[len(lines)-1:], "step_up_user_mismatch") {
		t.Fatalf("audit line %v", last)
	}
}

// transferLines are the transfer route's audit lines.
func transferLines(t *testing.T, g *caddytest.Guarded) []map[string]any {
	var out []map[string]any
	for _, l := range g.AuditLines(t) {
		if l["route"] == "transfer" {
			out = append(out, l)
		}
	}
	return out
}

// TestMonitoredChallengeCannotEnrol: a monitor-mode route lets a login it
// would have challenged through, but whoever typed that password must not
// enrol a passkey with the session it got (and pass every step-up once
// the route enforces).
func TestMonitoredChallengeCannotEnrol(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "\t\tmode monitor")
	js := map[string]string{"X-Login-Guard": "1"}
	form := "application/x-www-form-urlencoded"

	risky := newStepClient(t, g, "198.51.100.7")
	if resp, _ := risky.do("POST", "/api/login", form, challengedForm, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || risky.cookie("login_guard") == "" {
		t.Fatalf("monitored login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := risky.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolment after a login monitor mode would have challenged: %d", resp.StatusCode)
	}
	clean := newStepClient(t, g, "198.51.100.8")
	clean.do("POST", "/api/login", form, "username=alice&password="+password, nil)
	if resp, _ := clean.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusOK {
		t.Fatalf("enrolment after a clean login: %d", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "passkey_enrol_challenged_login") {
		t.Fatalf("audit: %v", auditReasons(t, g, "step_up"))
	}
}

// TestFailedOpenLoginCannotEnrol: a login let through only because a
// check could not be made (the engine missed its deadline, on_engine_failure
// allow) was never vetted: whoever typed that password must not enrol a
// passkey with the session it got.
func TestFailedOpenLoginCannotEnrol(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "\t\tdeadline 50ms\n\t\ton_engine_failure allow")
	js := map[string]string{"X-Login-Guard": "1"}
	form := "application/x-www-form-urlencoded"

	unvetted := newStepClient(t, g, "198.51.100.7")
	if resp, _ := unvetted.do("POST", "/api/login", form, "username=sandbox-slow&password="+password, nil); resp.StatusCode != http.StatusSeeOther || unvetted.cookie("login_guard") == "" {
		t.Fatalf("login while the engine is down: %d", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "login"), "engine_unavailable") {
		t.Fatalf("audit: %v", auditReasons(t, g, "login"))
	}
	if resp, _ := unvetted.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolment after a login the engine never judged: %d", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "passkey_enrol_challenged_login") {
		t.Fatalf("audit: %v", auditReasons(t, g, "step_up"))
	}
	clean := newStepClient(t, g, "198.51.100.8")
	clean.do("POST", "/api/login", form, "username=alice&password="+password, nil)
	if resp, _ := clean.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode != http.StatusOK {
		t.Fatalf("enrolment after a clean login: %d", resp.StatusCode)
	}
}

// TestStateFinishedOnlyWhereItWasSent: with two step-up routes on a site
// (say one offering a weaker method), a state is finished only under the
// one its login route sent it to.
func TestStateFinishedOnlyWhereItWasSent(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := strings.Replace(fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()), "\thandle /verify* {",
		"\thandle /check* {\n\t\tlogin_guard {\n\t\t\tevent step_up\n\t\t\tmethods passkey\n\t\t}\n\t}\n\thandle /verify* {", 1)
	g := caddytest.Start(t, stepUpGlobal, site)
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	passFactor(t, g, c)
	origin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if resp, _ := c.do("POST", "/check/complete", "application/x-www-form-urlencoded", "", origin); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("completed under another step-up route: %d", resp.StatusCode)
	}
	if !hasReason(auditReasons(t, g, "step_up"), "step_up_path_mismatch") {
		t.Fatalf("audit: %v", auditReasons(t, g, "step_up"))
	}
	if resp, _ := c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", origin); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("under its own step-up route: %d", resp.StatusCode)
	}
}

// operationRulesRoute is a transfer with a per-user limit and signed
// upstream headers, no step-up.
const operationRulesRoute = `	@transfer {
		method POST
		path /api/transfer
	}
	login_guard @transfer {
		event operation
		name transfer
		rate user 2/1h deny
		upstream_headers operation-shared-secret-1
	}
	handle /verify* {`

// TestOperationRulesCountTheSessionsUser: an operation's rules, audit line
// and signed user are the guard session's, not a user the body names: an
// attacker holding a victim's session cannot spread transfers over made-up
// users past a `rate user` limit, nor have the portal told another user
// was judged; naming another user beside the session is refused.
func TestOperationRulesCountTheSessionsUser(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := strings.Replace(fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()), "\thandle /verify* {", operationRulesRoute, 1)
	g := caddytest.Start(t, stepUpGlobal, site)
	form := "application/x-www-form-urlencoded"
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
		t.Fatalf("alice's login: %d", resp.StatusCode)
	}
	// Another user named beside alice's session: refused before the
	// portal.
	before := len(upstream.All())
	if resp, _ := c.do("POST", "/api/transfer", form, "username=mallory&amount=5", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a transfer naming another user: %d", resp.StatusCode)
	}
	if n := len(upstream.All()) - before; n != 0 {
		t.Fatalf("the portal got %d transfers naming another user", n)
	}
	if r := auditReasons(t, g, "transfer"); len(r) != 1 || !hasReason(r, "operation_user_mismatch") {
		t.Fatalf("audit reasons %v", r)
	}
	// Two transfers pass, signed as alice's; the third is over alice's
	// limit whatever the body says.
	for i, body := range []string{"amount=5", "username=alice&amount=6"} {
		resp, _ := c.do("POST", "/api/transfer", form, body, nil)
		up := upstream.All()
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests || len(up) == 0 {
			t.Fatalf("transfer %d: %d", i, resp.StatusCode)
		}
		// The header carries the user base64url-encoded (upstreamsig).
		if u := up[len(up)-1].Header.Get("X-Login-Guard-User"); u != base64.RawURLEncoding.EncodeToString([]byte("alice")) {
			t.Fatalf("transfer %d signed for %q, want alice", i, u)
		}
	}
	if resp, _ := c.do("POST", "/api/transfer", form, "amount=7", nil); resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a third transfer by alice past rate user 2/1h: %d", resp.StatusCode)
	}
	lines := g.AuditLines(t)
	if last := lines[len(lines)-1]; last["route"] != "transfer" || last["user"] != "alice" || last["action"] != "deny" {
		t.Fatalf("the third transfer's audit line: %v", last)
	}
}

// startSmartIDOperationSite is startOperationSite with SmartID on (one
// worker, so events arrive in the order they were queued) and the
// transfer route's extra options (an operation mapping).
func startSmartIDOperationSite(t *testing.T, transferOpts string) (*caddytest.Recorder, *caddytest.Guarded) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid := smartIDServer(t)
	global := strings.Replace(stepUpGlobal, "\t\tsandbox\n", fmt.Sprintf(`		sandbox
		smartid {
			endpoint %s
			license  %s
			channel  1
			workers  1
		}
`, sid.URL, smartidLicense), 1)
	route := strings.Replace(operationRoute, "\t\twhen \"true\" challenge always\n", "\t\twhen \"true\" challenge always\n"+transferOpts, 1)
	site := strings.Replace(fmt.Sprintf(stepUpSite, portalSessionOption, upstream.Listener.Addr()), "\thandle /verify* {", route, 1)
	return sid, caddytest.Start(t, global, site)
}

// stepUpTransfer sends a transfer (challenged), runs between (when not
// nil), passes the step-up and completes it, so the next POST to
// /api/transfer replays the transfer.
func stepUpTransfer(t *testing.T, g *caddytest.Guarded, c *stepClient, body string, hdr map[string]string, between func()) {
	t.Helper()
	form := "application/x-www-form-urlencoded"
	if resp, _ := c.do("POST", "/api/transfer", form, body, hdr); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("the transfer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if between != nil {
		between()
	}
	passFactor(t, g, c)
	if resp, _ := c.do("POST", "/verify/complete", form, "", map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
}

// nextSmartID returns the next SmartID request, checked against the
// seed's format, which must be an event whose path ends with suffix.
func nextSmartID(t *testing.T, sid *caddytest.Recorder, suffix string) map[string]any {
	t.Helper()
	r := sid.Next(t)
	if !strings.HasSuffix(r.Path, suffix) {
		t.Fatalf("SmartID got %s, want the %s event", r.Path, suffix)
	}
	return checkSmartIDRequest(t, r, r.Path)
}

// TestReplayedOperationReportsWhatWasJudged: a stepped-up operation's
// SmartID event carries the values the guard resolved from the request it
// judged and held, headers included, not what the empty continuation
// request that replays it carries; and it is filed under the session the
// replay carries, as every operation is, when alice signed in again
// before it.
func TestReplayedOperationReportsWhatWasJudged(t *testing.T) {
	sid, g := startSmartIDOperationSite(t, `		operation {
			transaction.category transfer
			transaction.reference {http.request.header.X-Transfer-Ref}
			order.amount {login_guard.field.amount}
			order.currency USD
		}
`)
	form := "application/x-www-form-urlencoded"
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's login: %d", resp.StatusCode)
	}
	first := nextSmartID(t, sid, "/login")
	var second map[string]any
	stepUpTransfer(t, g, c, "amount=12.50", map[string]string{"X-Transfer-Ref": "inv-4711"}, func() {
		// alice signs in again while the step-up waits: a new portal and
		// guard session.
		if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("alice's second login: %d", resp.StatusCode)
		}
		second = nextSmartID(t, sid, "/login")
	})
	if first["session"] == second["session"] {
		t.Fatalf("the second login kept the session %v", first["session"])
	}
	// The continuation: an empty POST, with a header of its own.
	if resp, _ := c.do("POST", "/api/transfer", form, "", map[string]string{"X-Transfer-Ref": "forged"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("the replay: %d", resp.StatusCode)
	}
	op := nextSmartID(t, sid, "/operation")
	tx, order, account := op["transaction"].(map[string]any), op["order"].(map[string]any), op["account"].(map[string]any)
	if tx["reference"] != "inv-4711" || order["amount"] != 12.5 || account["client"] != "alice" || account["session"] != second["session"] {
		t.Fatalf("the replayed operation's event: %v (the session now %v)", op, second["session"])
	}
}

// TestReplayedOperationNotBuiltIsSkipped: an operation whose event the
// first pass could not build (on_invalid_operation pass: a mapped value
// not a plain decimal) is replayed without one, as it passed without one;
// the continuation request cannot supply the values instead.
func TestReplayedOperationNotBuiltIsSkipped(t *testing.T) {
	sid, g := startSmartIDOperationSite(t, `		on_invalid_operation pass
		operation {
			transaction.category transfer
			order.amount {http.request.header.X-Amount}
			order.currency USD
		}
`)
	form := "application/x-www-form-urlencoded"
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's login: %d", resp.StatusCode)
	}
	stepUpTransfer(t, g, c, "amount=12.50", map[string]string{"X-Amount": "9e9"}, nil)
	if resp, _ := c.do("POST", "/api/transfer", form, "", map[string]string{"X-Amount": "1"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("the replay: %d", resp.StatusCode)
	}
	lines := g.AuditLines(t)
	if last := lines[len(lines)-1]; last["route"] != "transfer" || last["smartid"] != "invalid" {
		t.Fatalf("the replayed transfer's audit line: %v", last)
	}
	// With one worker, events go out in the order they were queued: the
	// first login's, then the one after the replay, and none between.
	if resp, _ := c.do("POST", "/api/login", form, "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's second login: %d", resp.StatusCode)
	}
	nextSmartID(t, sid, "/login")
	nextSmartID(t, sid, "/login")
}
