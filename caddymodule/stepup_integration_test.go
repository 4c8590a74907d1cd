package caddymodule_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
	"github.com/login-guard/login_guard/internal/testkit/softauthn"
	"github.com/login-guard/login_guard/internal/tokens"
)

// stepUpGlobal trusts the loopback proxy (so a test can play clients at
// other addresses with X-Forwarded-For) and configures the sandbox engine
// and the passkey relying party.
const stepUpGlobal = `	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		passkeys {
			rp_id     localhost
			rp_origin http://localhost
		}
	}`

// stepUpSite is the contract with the test's listener, upstream
// and extra login-route options.
const stepUpSite = `{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines sandbox
		step_up /verify
		success {
			status 303
			location /account
		}
%s
	}
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
		}
	}
	reverse_proxy %s
}`

const challengedForm = "username=sandbox-challenge&password=" + password + "&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"

// stepClient is one browser: its address, agent and cookie jar.
type stepClient struct {
	t    *testing.T
	g    *caddytest.Guarded
	ip   string
	ua   string
	jar  map[string]*http.Cookie
	last *http.Response
}

func newStepClient(t *testing.T, g *caddytest.Guarded, ip string) *stepClient {
	return &stepClient{t: t, g: g, ip: ip, ua: "Mozilla/5.0 (stepup test)", jar: map[string]*http.Cookie{}}
}

func (c *stepClient) do(method, path, ctype, body string, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.g.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("X-Forwarded-For", c.ip)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	for _, ck := range c.jar {
		req.AddCookie(ck)
	}
	resp, text := c.g.Do(c.t, req)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.jar, ck.Name)
		} else {
			c.jar[ck.Name] = ck
		}
	}
	c.last = resp
	return resp, text
}

func (c *stepClient) cookie(name string) string {
	if ck := c.jar[name]; ck != nil {
		return ck.Value
	}
	return ""
}

// testKeyset opens the guard's key material in the test's Caddy storage:
// the tests use it to read the state and to stand in for a passkey (the
// browser test runs the real one).
func testKeyset(t *testing.T, g *caddytest.Guarded) *tokens.Keyset {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(g.LogPath), "storage", "login_guard", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := tokens.ParseStored(raw)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := tokens.NewKeyset(st)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// passFactor gives the client the factor cookie a passed passkey
// assertion would have given it.
func passFactor(t *testing.T, g *caddytest.Guarded, c *stepClient) stepup.State {
	t.Helper()
	ks := testKeyset(t, g)
	var st stepup.State
	if err := ks.Open(stepup.PurposeState, c.cookie("login_guard_stepup"), time.Now(), &st); err != nil {
		t.Fatalf("state cookie does not open: %v", err)
	}
	tok, err := ks.Seal("stepup_factor", map[string]string{"h": st.Handle, "m": "passkey"}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.jar["login_guard_factor"] = &http.Cookie{Name: "login_guard_factor", Value: tok}
	return st
}

// auditReasons are the reasons of the audit lines of a route, in order.
func auditReasons(t *testing.T, g *caddytest.Guarded, route string) [][]string {
	var out [][]string
	for _, l := range g.AuditLines(t) {
		if l["route"] != route {
			continue
		}
		var rs []string
		for _, r := range asSlice(l["reasons"]) {
			rs = append(rs, fmt.Sprint(r))
		}
		out = append(out, rs)
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func hasReason(lines [][]string, reason string) bool {
	for _, l := range lines {
		for _, r := range l {
			if r == reason {
				return true
			}
		}
	}
	return false
}

func startStepUp(t *testing.T, upstream *caddytest.Recorder, loginOpts string) *caddytest.Guarded {
	return caddytest.Start(t, stepUpGlobal, fmt.Sprintf(stepUpSite, loginOpts, upstream.Listener.Addr()))
}

// TestStepUpResumeFinishesTheHeldLogin: the challenged login never reaches
// the portal until the factor passed; then the held request is replayed
// byte for byte and the browser lands logged in.
func TestStepUpResumeFinishesTheHeldLogin(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	c := newStepClient(t, g, "198.51.100.7")

	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sc := cookieNamed(resp, "login_guard_stepup")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.MaxAge <= 0 {
		t.Fatalf("state cookie %+v", sc)
	}
	if strings.Contains(resp.Header.Get("Location"), sc.Value) {
		t.Fatal("the state must not travel in the URL")
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("the portal saw %d requests before the step-up", n)
	}

	// The page, for a user without a passkey: what to do next. The sign-in
	// cannot be confirmed, so the page drops the state cookie (a pending
	// step-up would veto the enrolment link the person is sent for).
	saved := *c.jar["login_guard_stepup"]
	resp, body := c.do("GET", "/verify", "", "", nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(body, "Set up a passkey to continue") || !strings.Contains(body, "ask for a passkey enrolment link") {
		t.Fatalf("page: %d %q %s", resp.StatusCode, resp.Header.Get("Referrer-Policy"), body)
	}
	if c.cookie("login_guard_stepup") != "" {
		t.Fatal("the no-passkey page kept the state cookie")
	}
	// The rest of the flow carries the state on, as a client that kept it.
	c.jar["login_guard_stepup"] = &saved
	resp, body = c.do("GET", "/verify/stepup.js", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "X-Login-Guard") {
		t.Fatalf("script: %d", resp.StatusCode)
	}

	// Completing without the factor is refused, and does not spend the state.
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden || c.cookie("login_guard_continue") != "" {
		t.Fatalf("complete without factor: %d", resp.StatusCode)
	}

	if st := passFactor(t, g, c); st.Operation {
		t.Fatal("a login's step-up state says it is for an operation")
	}
	stateCookie := c.cookie("login_guard_stepup")
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" || c.cookie("login_guard_continue") == "" {
		t.Fatalf("complete: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	if c.cookie("login_guard_stepup") != "" {
		t.Fatal("the completion must clear the state cookie")
	}
	continuation := c.cookie("login_guard_continue")

	// The browser follows the 307: an empty POST carrying the continuation.
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("continuation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cookieNamed(resp, "portal_session") == nil || cookieNamed(resp, "login_guard") == nil {
		t.Fatalf("the portal's and the guard's session cookies must be set: %v", resp.Cookies())
	}
	up := upstream.All()
	if len(up) != 1 || string(up[0].Body) != challengedForm || up[0].Method != "POST" || up[0].Path != "/api/login" ||
		up[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" || up[0].ContentLength != int64(len(challengedForm)) {
		t.Fatalf("upstream got %+v", up)
	}
	if cookies := up[0].Header.Get("Cookie"); strings.Contains(cookies, "login_guard_") {
		t.Fatalf("step-up cookies reached the portal: %q", cookies)
	}

	// A second completion of the same state, and a replayed continuation,
	// are refused.
	c.jar["login_guard_stepup"] = &http.Cookie{Name: "login_guard_stepup", Value: stateCookie}
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second completion: %d", resp.StatusCode)
	}
	c.jar["login_guard_continue"] = &http.Cookie{Name: "login_guard_continue", Value: continuation}
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden || len(upstream.All()) != 1 {
		t.Fatalf("replayed continuation: %d, upstream saw %d", resp.StatusCode, len(upstream.All()))
	}

	login := auditReasons(t, g, "login")
	verify := auditReasons(t, g, "step_up")
	for _, want := range []string{"step_up_passed", "step_up_replayed"} {
		if !hasReason(login, want) {
			t.Errorf("login audit lacks %s: %v", want, login)
		}
	}
	for _, want := range []string{"step_up_no_credentials", "step_up_factor_failed", "step_up_completed", "step_up_replayed"} {
		if !hasReason(verify, want) {
			t.Errorf("step-up audit lacks %s: %v", want, verify)
		}
	}
	if strings.Contains(g.RawLogs(t), password) || strings.Contains(g.RawLogs(t), stateCookie) {
		t.Fatal("a password or a state token reached the logs")
	}
}

// TestStepUpJSONClient gets the URL and the state in a 401.
func TestStepUpJSONClient(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	c := newStepClient(t, g, "198.51.100.7")
	resp, body := c.do("POST", "/api/login", "application/json", `{"username":"sandbox-challenge","password":"`+password+`"}`, nil)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got["step_up"] != "/verify" || got["state"] == "" || got["state"] != c.cookie("login_guard_stepup") || got["error"] != "step_up_required" || got["message"] == "" || len(got) != 4 {
		t.Fatalf("body %v", got)
	}
	// A user the sandbox allows is not stepped up.
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("allowed login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestStepUpStateRefusals: a state that was tampered with, or that comes
// back from another address or browser, opens nothing.
func TestStepUpStateRefusals(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	cases := []struct {
		name   string
		mutate func(c *stepClient)
		reason string
		says   string // what the person is told
	}{
		{"tampered", func(c *stepClient) {
			v := []byte(c.cookie("login_guard_stepup"))
			v[len(v)/2] ^= 1
			c.jar["login_guard_stepup"].Value = string(v)
		}, "step_up_tampered", "The confirmation didn"},
		{"other ip", func(c *stepClient) { c.ip = "198.51.100.99" }, "step_up_ip_mismatch", "same browser, on the same network"},
		{"other agent", func(c *stepClient) { c.ua = "curl/8" }, "step_up_agent_mismatch", "same browser, on the same network"},
		{"missing", func(c *stepClient) { delete(c.jar, "login_guard_stepup") }, "step_up_missing", "no sign-in waiting to be confirmed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newStepClient(t, g, "198.51.100.7")
			c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
			passFactor(t, g, c)
			tc.mutate(c)
			resp, body := c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
			if resp.StatusCode != http.StatusForbidden || c.cookie("login_guard_continue") != "" || !strings.Contains(body, tc.says) {
				t.Fatalf("complete: %d %s", resp.StatusCode, body)
			}
			lines := auditReasons(t, g, "step_up")
			if last := lines[len(lines)-1]; len(last) != 1 || last[0] != tc.reason {
				t.Fatalf("audit reasons %v, want %s", last, tc.reason)
			}
		})
	}
	// Cross-site completion.
	c := newStepClient(t, g, "198.51.100.7")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	passFactor(t, g, c)
	resp, _ := c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site completion: %d", resp.StatusCode)
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("the portal saw %d requests", n)
	}
}

// TestStepUpMethodNotAllowed: a method an endpoint of the step-up route
// does not take gets 405 with the methods it does take in Allow.
func TestStepUpMethodNotAllowed(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/verify/complete", "POST"},
		{"GET", "/verify/passkey/begin", "POST"},
		{"POST", "/verify", "GET, HEAD"},
		{"DELETE", "/verify/enrol", "GET, HEAD"},
		{"POST", "/verify/stepup.js", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(c.method, g.URL+c.path, nil)
		resp, _ := g.Do(t, req)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q, want 405 and %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.allow)
		}
	}
}

// TestStepUpAfterUpstreamReleasesTheWithheldAnswer: the portal is asked
// once; its answer (and session cookie) reaches the browser only after
// the factor.
func TestStepUpAfterUpstreamReleasesTheWithheldAnswer(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "\t\tevaluate after_upstream")
	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cookieNamed(resp, "portal_session") != nil || cookieNamed(resp, "login_guard") != nil {
		t.Fatalf("the withheld session leaked: %v", resp.Cookies())
	}
	passFactor(t, g, c)
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("release: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ck := cookieNamed(resp, "portal_session"); ck == nil || ck.Value != "APPSESSION-1" || cookieNamed(resp, "login_guard") == nil {
		t.Fatalf("released cookies: %v", resp.Cookies())
	}
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("the portal was asked %d times, want once", n)
	}
}

// TestStepUpResubmit: the completion gives a one-time pass; the next POST
// of the same user goes through, the one after is challenged again.
func TestStepUpResubmit(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "\t\tcontinuation resubmit")
	c := newStepClient(t, g, "198.51.100.7")
	referer := map[string]string{"Referer": g.URL + "/?from=form"}
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, referer)
	passFactor(t, g, c)
	resp, _ := c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?from=form" || c.cookie("login_guard_pass") == "" {
		t.Fatalf("complete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	pass := c.cookie("login_guard_pass")
	// Another user cannot use it.
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=sandbox-deny&password="+password, nil)
	if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/account" {
		t.Fatal("a pass let another user through")
	}
	c.jar["login_guard_pass"] = &http.Cookie{Name: "login_guard_pass", Value: pass}
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("resubmit: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.jar["login_guard_pass"] = &http.Cookie{Name: "login_guard_pass", Value: pass}
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("second use of the pass: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("the portal saw %d logins, want 1", n)
	}
}

// TestPasskeyEnrolmentRule: enrolment is refused during a challenge and
// after a challenged login, and allowed after a clean one.
func TestPasskeyEnrolmentRule(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	js := map[string]string{"X-Login-Guard": "1"}

	// During a challenge.
	c := newStepClient(t, g, "198.51.100.7")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	resp, _ := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolment during a challenge: %d", resp.StatusCode)
	}
	resp, body := c.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "login-guard-start") || !strings.Contains(body, "is still waiting for one") {
		t.Fatalf("enrol page during a challenge: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"enrol_not_allowed"`) {
		t.Fatalf("register/begin during a challenge: %d %s", resp.StatusCode, body)
	}
	// After the challenged login finished: its session is marked.
	passFactor(t, g, c)
	c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard") == "" {
		t.Fatalf("continuation: %d", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolment after a challenged login: %d", resp.StatusCode)
	}
	// The signed-in user is told why, not to sign in.
	resp, body = c.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "a sign-in that needed an extra check") || strings.Contains(body, "sign in to your account first") {
		t.Fatalf("enrol page after a challenged login: %d\n%s", resp.StatusCode, body)
	}
	// Nobody signed in: sign in first (or use a link).
	nobody := newStepClient(t, g, "198.51.100.9")
	resp, body = nobody.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign in to register a passkey") {
		t.Fatalf("enrol page without a sign-in: %d\n%s", resp.StatusCode, body)
	}
	// The script's endpoints answer codes the page shows the message of.
	for path, code := range map[string]string{"/verify/passkey/register/begin": "enrol_sign_in", "/verify/passkey/begin": "step_up_missing"} {
		resp, body = nobody.do("POST", path, "application/json", "{}", js)
		var got struct{ Error, Message string }
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusForbidden || got.Error != code || got.Message == "" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	// After a clean login.
	clean := newStepClient(t, g, "198.51.100.8")
	resp, _ = clean.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil)
	if resp.StatusCode != http.StatusSeeOther || clean.cookie("login_guard") == "" {
		t.Fatalf("clean login: %d", resp.StatusCode)
	}
	resp, _ = clean.do("POST", "/verify/passkey/register/begin", "application/json", "{}", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without the X-Login-Guard header: %d", resp.StatusCode)
	}
	resp, body = clean.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("enrol page: %d %s", resp.StatusCode, body)
	}
	resp, body = clean.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	var opts struct {
		PublicKey struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
			User struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"user"`
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(body), &opts); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin: %d %s", resp.StatusCode, body)
	}
	if opts.PublicKey.RP.ID != "localhost" || opts.PublicKey.Challenge == "" || opts.PublicKey.User.ID == "" || strings.Contains(opts.PublicKey.User.ID, "alice") {
		t.Fatalf("creation options %+v", opts.PublicKey)
	}
	if clean.cookie("login_guard_ceremony") == "" {
		t.Fatal("no ceremony cookie")
	}
	v := auditReasons(t, g, "step_up")
	for _, want := range []string{"passkey_enrol_during_challenge", "passkey_enrol_challenged_login", "step_up_missing_header", "passkey_register_begin"} {
		if !hasReason(v, want) {
			t.Errorf("audit lacks %s: %v", want, v)
		}
	}
}

// TestStepUpTargetsCheckedAtConfigTime: a step_up that could take the
// browser off the site is a Caddyfile error naming the line.
func TestStepUpTargetsCheckedAtConfigTime(t *testing.T) {
	site := func(opts string) string {
		return `{
	login_guard {
		sandbox
	}
}
example.com {
	login_guard {
		event login
		engines sandbox
` + opts + `
	}
}
`
	}
	bad := []struct{ opts, want string }{
		{"\t\tstep_up https://evil.example/verify", "Caddyfile:10"},
		{"\t\tstep_up //evil.example/verify", "Caddyfile:10"},
		{"\t\tstep_up /\\evil.example", "Caddyfile:10"},
		{"\t\tstep_up javascript:alert(1)", "Caddyfile:10"},
		{"\t\tstep_up http://auth.example.com/verify\n\t\tstep_up_hosts auth.example.com", "Caddyfile:10"},
		{"\t\tstep_up_hosts auth.example.com\n\t\tstep_up https://other.example.com/verify", "Caddyfile:11"},
		{"\t\tstep_up /verify extra", "Caddyfile:10"},
		{"\t\tstep_up /verify\n\t\tstep_up /again", "Caddyfile:11"},
		{"\t\tcontinuation sometimes", "Caddyfile:10"},
		{"\t\tip_prefix 4", "Caddyfile:10"},
		{"\t\tmethods sms", "Caddyfile:10"},
	}
	for _, tc := range bad {
		_, _, err := adaptErr(site(tc.opts))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one at %s", tc.opts, err, tc.want)
		}
	}
	good := []string{
		"\t\tstep_up /verify",
		"\t\tstep_up_hosts auth.example.com\n\t\tstep_up https://auth.example.com/verify\n\t\tstep_up_cookie_domain example.com",
		"\t\tstep_up /verify\n\t\tcontinuation resubmit\n\t\tip_prefix 24 48",
	}
	for _, opts := range good {
		if _, _, err := adaptErr(site(opts)); err != nil {
			t.Errorf("%q: %v", opts, err)
		}
	}
}

func adaptErr(caddyfile string) ([]byte, []caddyconfig.Warning, error) {
	return caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
}

// validateJSON provisions a config the way `caddy validate` does.
func validateJSON(cfg []byte) error {
	var c caddy.Config
	if err := json.Unmarshal(cfg, &c); err != nil {
		return err
	}
	return caddy.Validate(&c)
}

// TestStepUpContractCaddyfile: the Caddyfile, verbatim, adapts and
// provisions.
func TestStepUpContractCaddyfile(t *testing.T) {
	raw, err := os.ReadFile("testdata/stepup/contract.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cfg := caddytest.Adapt(t, string(raw))
	var got struct {
		Apps struct {
			LoginGuard struct {
				Passkeys struct {
					RPID      string   `json:"rp_id"`
					RPOrigins []string `json:"rp_origins"`
				} `json:"passkeys"`
			} `json:"login_guard"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfg, &got); err != nil {
		t.Fatal(err)
	}
	if got.Apps.LoginGuard.Passkeys.RPID != "example.com" || len(got.Apps.LoginGuard.Passkeys.RPOrigins) != 1 {
		t.Fatalf("passkeys %+v", got.Apps.LoginGuard.Passkeys)
	}
	for _, want := range []string{`"step_up":"/verify"`, `"handler":"login_guard_step_up"`, `"methods":["passkey"]`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("adapted config lacks %s", want)
		}
	}
	// The contract names `engines sandbox` without declaring it: the
	// embedded sandbox is always available, so the file validates as is.
	if err := validateJSON(cfg); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

// TestStepUpExpired: a state or continuation past its lifetime opens
// nothing. The test reseals the real tokens with an issue time in the
// past rather than waiting.
func TestStepUpExpired(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	ks := testKeyset(t, g)
	past := time.Now().Add(-10 * time.Minute)
	reseal := func(purpose, tok string) string {
		var st stepup.State
		if err := ks.Open(purpose, tok, time.Now(), &st); err != nil {
			t.Fatal(err)
		}
		old, err := ks.Seal(purpose, st, past, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return old
	}

	c := newStepClient(t, g, "198.51.100.7")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	passFactor(t, g, c)
	fresh := c.cookie("login_guard_stepup")
	c.jar["login_guard_stepup"].Value = reseal(stepup.PurposeState, fresh)
	resp, body := c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<h1>This confirmation has expired</h1>") {
		t.Fatalf("expired state: %d\n%s", resp.StatusCode, body)
	}
	lines := auditReasons(t, g, "step_up")
	if last := lines[len(lines)-1]; len(last) != 1 || last[0] != "step_up_expired" {
		t.Fatalf("audit %v", last)
	}

	c.jar["login_guard_stepup"] = &http.Cookie{Name: "login_guard_stepup", Value: fresh}
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	c.jar["login_guard_continue"].Value = reseal(stepup.PurposeContinue, c.cookie("login_guard_continue"))
	resp, body = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusForbidden || len(upstream.All()) != 0 || !strings.Contains(body, "<h1>This confirmation has expired</h1>") {
		t.Fatalf("expired continuation: %d, upstream saw %d\n%s", resp.StatusCode, len(upstream.All()), body)
	}
	login := auditReasons(t, g, "login")
	if !hasReason(login, "step_up_expired") {
		t.Fatalf("login audit %v", login)
	}
}

// enrolLinkGuard runs the browser test's Caddyfile with the admin API on,
// and returns the guard, a function that asks the admin API for a
// one-time enrol link for sandbox-challenge, and the headers a browser's
// page and its script send (Host as the site names it).
func enrolLinkGuard(t *testing.T, upstream *caddytest.Recorder) (g *caddytest.Guarded, link func() string, host, js map[string]string) {
	g, admin, host, js := enrolAdminGuard(t, upstream)
	link = func() string {
		req, _ := http.NewRequest("POST", admin+"/login_guard/passkeys/enrol_link", strings.NewReader(`{"user":"sandbox-challenge","ttl":"1h"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, body := g.Do(t, req)
		var out map[string]string
		if err := json.Unmarshal([]byte(body), &out); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(out["link"], "/verify/enrol?t=") {
			t.Fatalf("enrol_link: %d %s", resp.StatusCode, body)
		}
		return out["link"]
	}
	return g, link, host, js
}

// enrolAdminGuard is enrolLinkGuard with the admin API's base URL in
// place of the link function.
func enrolAdminGuard(t *testing.T, upstream *caddytest.Recorder) (g *caddytest.Guarded, admin string, host, js map[string]string) {
	t.Helper()
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	src := browserCaddyfile(dir, port, upstream.Listener.Addr().String(), "\t\tengines sandbox\n\t\tstep_up /verify")
	src = strings.Replace(src, "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1)
	loadCaddyfile(t, src)
	t.Cleanup(func() { _ = caddy.Stop() })
	g = &caddytest.Guarded{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: filepath.Join(dir, "caddy.log"), Client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	host = map[string]string{"Host": fmt.Sprintf("localhost:%d", port)}
	js = map[string]string{"X-Login-Guard": "1", "Host": host["Host"]}
	return g, fmt.Sprintf("http://127.0.0.1:%d", adminPort), host, js
}

// TestPasskeyEnrolLink: the admin API's one-time link lets a user enrol
// without a clean login, but never while a step-up is pending.
func TestPasskeyEnrolLink(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, link, host, js := enrolLinkGuard(t, upstream)

	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("GET", link(), "", "", host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify/enrol" || c.cookie("login_guard_enrol") == "" {
		t.Fatalf("link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.do("GET", "/verify/enrol", "", "", host)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) {
		t.Fatalf("enrol page: %d", resp.StatusCode)
	}
	// Caddy's path matcher merges slashes, so /verify* also selects
	// //verify-evil.example/enrol: the link's redirect must not become a
	// scheme-relative one to another site.
	for _, p := range []string{"//verify-evil.example/enrol?t=x", "///verify-evil.example/enrol?t=x", "/%2Fverify-evil.example/enrol?t=x"} {
		resp, _ := newStepClient(t, g, "198.51.100.8").do("GET", p, "", "", host)
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "//") || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d Location %q", p, resp.StatusCode, loc)
		}
	}
	resp, _ = c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin with a link: %d", resp.StatusCode)
	}
	// A pending step-up vetoes the link.
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	if c.cookie("login_guard_stepup") == "" {
		t.Fatal("the login was not challenged")
	}
	resp, _ = c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("register/begin during a challenge: %d", resp.StatusCode)
	}
}

// TestPasskeyEnrolAndStepUp runs both passkey ceremonies through the
// guard with a software authenticator (the browser suite does the same
// in Chromium): an enrol link registers a passkey, then a challenged
// login is finished with it, and the portal receives the original login
// once.
func TestPasskeyEnrolAndStepUp(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, link, host, js := enrolLinkGuard(t, upstream)
	origin := "http://" + host["Host"]
	key := softauthn.New(t, origin)
	c := newStepClient(t, g, "198.51.100.7")
	c.do("GET", link(), "", "", host)

	resp, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin: %d %s", resp.StatusCode, opts)
	}
	resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js)
	if resp.StatusCode != http.StatusOK || body != `{"ok":true}` || c.cookie("login_guard_enrol") != "" {
		t.Fatalf("register/finish: %d %s (the link must be spent)", resp.StatusCode, body)
	}
	// The same authenticator cannot register twice with a spent link.
	if resp, _ := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js); resp.StatusCode == http.StatusOK {
		t.Fatal("register/begin again after the link was spent")
	}

	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" || len(upstream.All()) != 0 {
		t.Fatalf("challenge: %d %q, portal saw %d", resp.StatusCode, resp.Header.Get("Location"), len(upstream.All()))
	}
	resp, opts = c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("passkey/begin: %d %s", resp.StatusCode, opts)
	}
	// An assertion from another key for the same options is refused,
	// and the ceremony it spent cannot be finished again.
	other := softauthn.New(t, origin)
	other.CredentialID = key.CredentialID
	other.Handle = key.Handle
	if resp, _ := c.do("POST", "/verify/passkey/finish", "application/json", string(other.Get(json.RawMessage(opts), 1)), js); resp.StatusCode == http.StatusOK || c.cookie("login_guard_factor") != "" {
		t.Fatalf("a forged assertion passed: %d", resp.StatusCode)
	}
	resp, opts = c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("passkey/begin again: %d %s", resp.StatusCode, opts)
	}
	resp, body = c.do("POST", "/verify/passkey/finish", "application/json", string(key.Get(json.RawMessage(opts), 1)), js)
	if resp.StatusCode != http.StatusOK || body != `{"ok":true}` || c.cookie("login_guard_factor") == "" {
		t.Fatalf("passkey/finish: %d %s", resp.StatusCode, body)
	}
	same := map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin", "Host": host["Host"]}
	resp, _ = c.do("POST", "/verify/complete", "", "", same)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" {
		t.Fatalf("complete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = c.do("POST", "/api/login", "", "", host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" || cookieNamed(resp, "portal_session") == nil {
		t.Fatalf("continuation: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if up := upstream.All(); len(up) != 1 || string(up[0].Body) != challengedForm {
		t.Fatalf("the portal got %d requests, want the original login once", len(up))
	}
}

// TestPasskeyMalformedResponses: a registration or assertion body that
// is no WebAuthn response (JSON, base64 or CBOR that does not parse) is
// a 400 bad_request, not a refused factor: it spends the ceremony but
// not one of the state's factor attempts, and the real passkey then
// finishes the step-up.
func TestPasskeyMalformedResponses(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, link, host, js := enrolLinkGuard(t, upstream)
	key := softauthn.New(t, "http://"+host["Host"])
	c := newStepClient(t, g, "198.51.100.7")
	c.do("GET", link(), "", "", host)
	wantBadRequest := func(path, body string) {
		t.Helper()
		resp, out := c.do("POST", path, "application/json", body, js)
		var got map[string]string
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(out), &got) != nil || got["error"] != "bad_request" {
			t.Fatalf("%s %q: %d %s, want 400 bad_request", path, body, resp.StatusCode, out)
		}
	}
	c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	wantBadRequest("/verify/passkey/register/finish", `{"id":`)
	resp, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register/begin: %d %s", resp.StatusCode, opts)
	}
	if resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js); resp.StatusCode != http.StatusOK {
		t.Fatalf("register/finish: %d %s", resp.StatusCode, body)
	}

	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
	garbage := []string{`{"id":`, `[]`, `{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"oA","signature":"AA"}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"!!","authenticatorData":"","signature":""}}`}
	for _, body := range garbage { // more than factor_attempts (3)
		c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
		wantBadRequest("/verify/passkey/finish", body)
	}
	resp, opts = c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("passkey/begin after the malformed bodies: %d %s", resp.StatusCode, opts)
	}
	resp, body := c.do("POST", "/verify/passkey/finish", "application/json", string(key.Get(json.RawMessage(opts), 1)), js)
	if resp.StatusCode != http.StatusOK || c.cookie("login_guard_factor") == "" {
		t.Fatalf("passkey/finish: %d %s", resp.StatusCode, body)
	}
	if hasReason(auditReasons(t, g, "step_up"), "passkey_invalid_response") {
		t.Fatal("a malformed body was audited as a refused assertion")
	}
}

// TestPasskeyAdminRemovesAMarkedPasskey: a passkey whose sign count went
// backwards is marked and refused from then on; the admin API lists it
// as such and removes it, after which the user can enrol (the same
// authenticator too) and finish a step-up again.
func TestPasskeyAdminRemovesAMarkedPasskey(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, admin, host, js := enrolAdminGuard(t, upstream)
	key := softauthn.New(t, "http://"+host["Host"])
	c := newStepClient(t, g, "198.51.100.7")
	enrol := func() {
		t.Helper()
		var out map[string]string
		if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge"}`, &out); st != http.StatusOK {
			t.Fatalf("enrol_link: %d", st)
		}
		c.do("GET", out["link"], "", "", host)
		_, opts := c.do("POST", "/verify/passkey/register/begin", "application/json", "{}", js)
		if resp, body := c.do("POST", "/verify/passkey/register/finish", "application/json", string(key.Create(json.RawMessage(opts))), js); resp.StatusCode != http.StatusOK {
			t.Fatalf("register/finish: %d %s", resp.StatusCode, body)
		}
	}
	assert := func(counter uint32) int {
		t.Helper()
		c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host)
		resp, opts := c.do("POST", "/verify/passkey/begin", "application/json", "{}", js)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("passkey/begin: %d %s", resp.StatusCode, opts)
		}
		resp, _ = c.do("POST", "/verify/passkey/finish", "application/json", string(key.Get(json.RawMessage(opts), counter)), js)
		return resp.StatusCode
	}
	type listed struct {
		Credentials []struct {
			ID           string `json:"id"`
			SignCount    uint32 `json:"sign_count"`
			CloneWarning bool   `json:"clone_warning"`
		} `json:"credentials"`
	}
	list := func(method, query string, want int) listed {
		t.Helper()
		var out listed
		if st := adminCall(t, method, admin+"/login_guard/passkeys/credentials?user=sandbox-challenge"+query, "", &out); st != want {
			t.Fatalf("%s credentials%s: %d, want %d", method, query, st, want)
		}
		return out
	}

	enrol()
	if st := assert(5); st != http.StatusOK {
		t.Fatalf("first assertion: %d", st)
	}
	if st := assert(3); st != http.StatusForbidden {
		t.Fatalf("a sign count gone backwards: %d, want 403", st)
	}
	if st := assert(9); st != http.StatusForbidden {
		t.Fatalf("a marked passkey with a higher count: %d, want 403 until it is removed", st)
	}
	id := base64.RawURLEncoding.EncodeToString(key.CredentialID)
	got := list(http.MethodGet, "", http.StatusOK)
	if len(got.Credentials) != 1 || got.Credentials[0].ID != id || !got.Credentials[0].CloneWarning || got.Credentials[0].SignCount != 5 {
		t.Fatalf("listed %+v", got)
	}
	list(http.MethodDelete, "&id=AAAA", http.StatusNotFound)
	list(http.MethodDelete, "&id=not*base64", http.StatusNotFound)
	if got := list(http.MethodDelete, "&id="+id, http.StatusOK); len(got.Credentials) != 0 {
		t.Fatalf("after the removal: %+v", got)
	}
	if got := list(http.MethodGet, "", http.StatusOK); len(got.Credentials) != 0 {
		t.Fatalf("listed after the removal: %+v", got)
	}
	var apiErr map[string]any
	if st := adminCall(t, http.MethodGet, admin+"/login_guard/passkeys/credentials", "", &apiErr); st != http.StatusBadRequest {
		t.Fatalf("no user: %d", st)
	}
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/credentials?user=x", "", &apiErr); st != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", st)
	}

	c = newStepClient(t, g, "198.51.100.8") // a browser with no step-up pending
	enrol()
	if st := assert(10); st != http.StatusOK {
		t.Fatalf("the passkey enrolled again: %d", st)
	}
}

// TestKeysOutliveARestart: the guard's keys are created once and loaded
// from Caddy's storage on the next start, so a step-up state sealed before
// a restart still opens after it. (The held login itself lives in memory
// without a shared store, so the completion then refuses it as missing,
// not as a state it cannot read.)
func TestKeysOutliveARestart(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port := ports.Free(t)
	src := browserCaddyfile(dir, port, upstream.Listener.Addr().String(), "\t\tengines sandbox\n\t\tstep_up /verify")
	loadCaddyfile(t, src)
	t.Cleanup(func() { _ = caddy.Stop() })
	g := &caddytest.Guarded{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: filepath.Join(dir, "caddy.log"), Client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	host := map[string]string{"Host": fmt.Sprintf("localhost:%d", port)}
	same := map[string]string{"Origin": "http://" + host["Host"], "Sec-Fetch-Site": "same-origin", "Host": host["Host"]}
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, host); resp.StatusCode != http.StatusSeeOther || c.cookie("login_guard_stepup") == "" {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	passFactor(t, g, c)
	jar := maps.Clone(c.jar)

	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	loadCaddyfile(t, src)
	// The stopped server closed the client's kept-alive connection; a
	// POST on it would fail with EOF (Go retries only idempotent ones).
	g.Client.CloseIdleConnections()
	if resp, _ := c.do("POST", "/verify/complete", "", "", same); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("completion after the restart: %d", resp.StatusCode)
	}
	last := g.AuditLines(t)[len(g.AuditLines(t))-1]
	if last["event"] != "step_up" || last["user"] != "sandbox-challenge" || !slices.Contains(strs(last["reasons"]), "step_up_held_missing") {
		t.Fatalf("completion after the restart: %v, want the state read and the held login missing", last)
	}
	// A state sealed under another key is not read at all.
	if err := os.Remove(filepath.Join(dir, "storage", "login_guard", "keys.json")); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	loadCaddyfile(t, src)
	g.Client.CloseIdleConnections()
	c.jar = jar
	c.do("POST", "/verify/complete", "", "", same)
	last = g.AuditLines(t)[len(g.AuditLines(t))-1]
	if last["user"] == "sandbox-challenge" || slices.Contains(strs(last["reasons"]), "step_up_held_missing") {
		t.Fatalf("a state from the old keys was read under new ones: %v", last)
	}
}
