package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

// selfieSite challenges the sandbox's challenge user and offers the selfie
// (and the passkey, which this user has not registered) on /verify.
const selfieSite = `{{listen}} {
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
	}
	handle /verify* {
		login_guard {
			event step_up
			methods passkey selfie
		}
	}
	reverse_proxy %s
}`

func selfieGlobal(f *smilefake.Server, extra string) string {
	return fmt.Sprintf(`	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		passkeys {
			rp_id     localhost
			rp_origin http://localhost
		}
		smileid {
			partner_id   %s
			api_key      %s
			callback_url https://guard.example/verify/smileid/callback
			base_url     %s
			trust_pem    %s
%s
		}
	}`, smilePartner, smileKey, f.URL, f.CAFile, extra)
}

var jsonHeader = map[string]string{"X-Login-Guard": "1"}

func selfieBody(t *testing.T) string {
	b, _ := json.Marshal(map[string]any{"selfie": testJPEG(t, 10), "liveness": []string{testJPEG(t, 40), testJPEG(t, 80)}})
	return string(b)
}

func smileNow(d time.Duration) string {
	return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z")
}

// TestSelfieStepUp drives a SmartSelfie step-up through Caddy against a
// fake Smile ID: refused callbacks (bad signature, stale, unknown job), a
// forged "authenticated" callback that Smile ID's job status contradicts,
// its duplicate, then the final result; the page polls pending until the
// confirmed result and completes once.
func TestSelfieStepUp(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	smile := newFakeSmileID(t)
	g := caddytest.Start(t, selfieGlobal(smile, ""), fmt.Sprintf(selfieSite, upstream.Listener.Addr()))
	c := newStepClient(t, g, "198.51.100.31")

	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	resp, body := c.do("GET", "/verify", "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-methods="selfie"`) || !strings.Contains(body, `id="login-guard-selfie-start"`) ||
		strings.Contains(body, `id="login-guard-start"`) {
		t.Fatalf("page offers the selfie alone (no passkey registered): %d %s", resp.StatusCode, body)
	}

	// The page's header is required; images are checked before anything is paid.
	if resp, _ := c.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), nil); resp.StatusCode != 403 {
		t.Fatalf("submit without header: %d", resp.StatusCode)
	}
	for name, bad := range map[string]string{
		"not an image":    `{"selfie":"` + "aGVsbG8gd29ybGQ=" + `","liveness":[]}`,
		"not base64":      `{"selfie":"***","liveness":[]}`,
		"unknown field":   `{"selfie":"` + testJPEG(t, 1) + `","liveness":[],"user_id":"someone-else"}`,
		"no liveness":     `{"selfie":"` + testJPEG(t, 1) + `","liveness":[]}`,
		"too many frames": `{"selfie":"` + testJPEG(t, 1) + `","liveness":["` + strings.Repeat(testJPEG(t, 2)+`","`, 8) + testJPEG(t, 2) + `"]}`,
	} {
		if resp, _ := c.do("POST", "/verify/selfie/submit", "application/json", bad, jsonHeader); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if jobs, _, _ := smile.Counts(); jobs != 0 {
		t.Fatalf("refused uploads reached Smile ID: %d", jobs)
	}

	resp, body = c.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader)
	if resp.StatusCode != http.StatusAccepted || body != `{"state":"pending"}` || c.cookie("login_guard_selfie") == "" {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	jobs, puts, _ := smile.Counts()
	if jobs != 1 || puts != 1 {
		t.Fatalf("Smile ID got %d uploads, %d zips", jobs, puts)
	}
	pp := smile.Job(0)
	job, _ := pp["job_id"].(string)
	if pp["user_id"] != "sandbox-challenge" || len(job) < 16 {
		t.Fatalf("partner_params %v", pp)
	}
	// A second submission while the first is pending is not paid for.
	if resp, _ := c.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second submit while pending: %d", resp.StatusCode)
	}
	poll := func() string {
		t.Helper()
		resp, body := c.do("POST", "/verify/selfie/status", "application/json", "{}", jsonHeader)
		var a struct{ State string }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("status: %d %s", resp.StatusCode, body)
		}
		return a.State
	}
	if s := poll(); s != "pending" {
		t.Fatalf("after submit: %s", s)
	}

	callback := func(body string) int {
		t.Helper()
		resp, _ := c.do("POST", "/verify/smileid/callback", "application/json", body, nil)
		return resp.StatusCode
	}
	fresh := smileNow(0)
	stale := smileNow(-10 * time.Minute)
	for _, tc := range []struct {
		name, body string
	}{
		{"bad signature", smileCallback(fresh, smileSign(fresh+"x"), job, "sandbox-challenge", "1220")},
		{"stale timestamp", smileCallback(stale, smileSign(stale), job, "sandbox-challenge", "1220")},
		{"unknown job id", smileCallback(fresh, smileSign(fresh), "0123456789abcdef0123456789abcdef", "sandbox-challenge", "1220")},
		{"other user", smileCallback(fresh, smileSign(fresh), job, "mallory", "1220")},
		{"not JSON", "1220"},
	} {
		if got := callback(tc.body); got != 400 {
			t.Errorf("%s: callback answered %d, want 400", tc.name, got)
		}
	}
	if _, _, status := smile.Counts(); status != 0 {
		t.Fatalf("refused callbacks caused %d job-status calls", status)
	}

	// A forged "1220" for the real job: Smile ID's job status says the job
	// is still under review (0824), so nothing completes.
	smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: false, Code: "0824"})
	forged := smileCallback(fresh, smileSign(fresh), job, "sandbox-challenge", "1220")
	if got := callback(forged); got != 200 {
		t.Fatalf("forged callback: %d", got)
	}
	if s := poll(); s != "pending" {
		t.Fatalf("a forged callback moved the job to %s", s)
	}
	if got := callback(forged); got != 200 {
		t.Fatalf("duplicate callback: %d", got)
	}
	if _, _, status := smile.Counts(); status != 1 {
		t.Fatalf("the duplicate was confirmed again: %d job-status calls", status)
	}
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != 403 {
		t.Fatalf("completion while pending: %d", resp.StatusCode)
	}

	// The final result: Smile ID's status now says authenticated.
	smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: true, Code: "1220"})
	later := smileNow(time.Second)
	if got := callback(smileCallback(later, smileSign(later), job, "sandbox-challenge", "1220")); got != 200 {
		t.Fatalf("final callback: %d", got)
	}
	if s := poll(); s != "authenticated" {
		t.Fatalf("after the confirmed result: %s", s)
	}
	if c.cookie("login_guard_factor") == "" || c.cookie("login_guard_selfie") != "" {
		t.Fatal("the factor cookie replaces the selfie cookie")
	}
	if s := poll(); s != "unknown" {
		t.Fatalf("a completed job is handed out once: %s", s)
	}
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/api/login" {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("continuation: %d", resp.StatusCode)
	}
	if up := upstream.All(); len(up) != 1 || string(up[0].Body) != challengedForm {
		t.Fatalf("upstream got %+v", up)
	}
	logs := g.RawLogs(t)
	for _, secret := range []string{smileKey, smileUploadSecret, password} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%q appears in the logs", secret)
		}
	}
	lines := allAuditReasons(t, g)
	for _, want := range []string{"smileid_callback_bad_signature", "smileid_callback_stale", "smileid_callback_unknown_job",
		"smileid_callback_job_mismatch", "smileid_callback_pending", "smileid_callback_duplicate", "smileid_callback_authenticated", "selfie_ok"} {
		if !hasReason(lines, want) {
			t.Errorf("audit lacks %s: %v", want, lines)
		}
	}
}

// allAuditReasons are the reasons of every audit line, in order.
func allAuditReasons(t *testing.T, g *caddytest.Guarded) [][]string {
	var out [][]string
	for _, l := range g.AuditLines(t) {
		var rs []string
		for _, r := range asSlice(l["reasons"]) {
			rs = append(rs, fmt.Sprint(r))
		}
		out = append(out, rs)
	}
	return out
}

// TestSelfieRejectedThenRateLimited: a job Smile ID's status rejects is
// reported to the page as rejected and forgotten, so the user may try
// again; the per-user limit (1 per hour here) then refuses the paid
// retry with 429 and Retry-After before anything reaches Smile ID.
func TestSelfieRejectedThenRateLimited(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	smile := newFakeSmileID(t)
	g := caddytest.Start(t, selfieGlobal(smile, "\t\t\tuser_limit 1 1h\n\t\t\tip_limit 10 1h"), fmt.Sprintf(selfieSite, upstream.Listener.Addr()))
	c := newStepClient(t, g, "198.51.100.32")
	c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp, _ := c.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	job, _ := smile.Job(0)["job_id"].(string)
	smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: false, Code: "1221"})
	ts := smileNow(0)
	if resp, _ := c.do("POST", "/verify/smileid/callback", "application/json", smileCallback(ts, smileSign(ts), job, "sandbox-challenge", "1220"), nil); resp.StatusCode != 200 {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	resp, body := c.do("POST", "/verify/selfie/status", "application/json", "{}", jsonHeader)
	if resp.StatusCode != 200 || body != `{"state":"rejected"}` || c.cookie("login_guard_selfie") != "" || c.cookie("login_guard_factor") != "" {
		t.Fatalf("status after a rejection: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("retry over the user limit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if jobs, _, _ := smile.Counts(); jobs != 1 {
		t.Fatalf("Smile ID got %d jobs", jobs)
	}
	if !hasReason(allAuditReasons(t, g), "selfie_rejected") || !hasReason(allAuditReasons(t, g), "selfie_rate_limited_user") {
		t.Fatalf("audit: %v", allAuditReasons(t, g))
	}
}

// TestSelfieCaddyfileErrors: the smileid block and methods are parsed
// strictly, with the line of the mistake.
func TestSelfieCaddyfileErrors(t *testing.T) {
	block := func(opts string) string {
		return "{\n\tlogin_guard {\n\t\tsmileid {\n" + opts + "\t\t}\n\t}\n}\n:8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t\tmethods selfie\n\t}\n}\n"
	}
	const base = "\t\t\tpartner_id 172\n\t\t\tapi_key k\n\t\t\tcallback_url https://g.example/verify/smileid/callback\n"
	cases := []struct{ name, cfg, want string }{
		{"unknown option", block(base + "\t\t\tcolour blue\n"), `Caddyfile:7: smileid: unknown option "colour"`},
		{"http callback", block("\t\t\tpartner_id 172\n\t\t\tapi_key k\n\t\t\tcallback_url http://g.example/cb\n"), "Caddyfile:6: smileid: callback_url must be an https URL"},
		{"missing key", block("\t\t\tpartner_id 172\n\t\t\tcallback_url https://g.example/verify/smileid/callback\n"), "smileid: partner_id, api_key and callback_url are required"},
		// The step-up route answers callbacks at <path>/smileid/callback only.
		{"callback elsewhere", block("\t\t\tpartner_id 172\n\t\t\tapi_key k\n\t\t\tcallback_url https://g.example/cb\n"), "Caddyfile:6: smileid: callback_url \"https://g.example/cb\" must end with /smileid/callback"},
		{"bad server", block(base + "\t\t\tserver staging\n"), `Caddyfile:7: "staging" is not one of sandbox, production`},
		{"server and base_url", block(base + "\t\t\tserver production\n\t\t\tbase_url https://x.example\n"), "give server or base_url, not both"},
		{"bad limit", block(base + "\t\t\tuser_limit five 1h\n"), `Caddyfile:7: smileid: "five" must be a whole number`},
		{"bad code", block(base + "\t\t\tauthenticated_codes 12x0\n"), `Caddyfile:7: smileid: result code "12x0" is not four digits`},
		{"twice", block(base + "\t\t\tpartner_id 173\n"), "Caddyfile:7: smileid: partner_id given twice"},
		{"unknown method", strings.Replace(block(base), "methods selfie", "methods selfie sms", 1), `Caddyfile:13: methods: "sms" is not one of passkey, selfie, loginid`},
		{"method twice", strings.Replace(block(base), "methods selfie", "methods selfie selfie", 1), "Caddyfile:13: methods: selfie given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkAdaptErr(t, caddytest.ValidateCaddyfile(t, c.cfg), c.want) })
	}
	noBlock := "{\n\tlogin_guard {\n\t\tsandbox\n\t}\n}\n:8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t\tmethods selfie loginid\n\t}\n}\n"
	checkAdaptErr(t, caddytest.ValidateCaddyfile(t, noBlock), "methods selfie needs a `smileid")
	if err := caddytest.ValidateCaddyfile(t, block(base)); err != nil {
		t.Fatalf("a valid selfie config: %v", err)
	}
}

// TestSelfieAccountFromTheRequestRefused: with smileid user_id account_id
// the selfie is compared with the face enrolled under the route's
// account_id, so a route whose account_id the client writes (a query, a
// cookie, a header, a regexp capture, a body field: refused on every
// route) or that is the same for every user is refused.
func TestSelfieAccountFromTheRequestRefused(t *testing.T) {
	cfg := func(account string) string {
		return "{\n\tlogin_guard {\n\t\tsandbox\n\t\tsmileid {\n\t\t\tpartner_id 172\n\t\t\tapi_key k\n\t\t\tcallback_url https://g.example/verify/smileid/callback\n\t\t\tuser_id account_id\n\t\t}\n\t}\n}\n" +
			":8080 {\n\tlogin_guard /api/login {\n\t\tevent login\n\t\tengines sandbox\n\t\tevaluate after_upstream\n\t\tstep_up /verify\n\t\taccount_id " + account + "\n\t}\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t\tmethods selfie\n\t}\n}\n"
	}
	for _, bad := range []string{"{login_guard.field.account}", "{http.request.uri.query.acct}", "{query.acct}", "{http.request.cookie.acct}", "{cookie.acct}",
		"{header.X-Account}", "{http.request.header.X-Account}", "{re.acct.1}", "{vars.acct}"} {
		checkAdaptErr(t, caddytest.ValidateCaddyfile(t, cfg(bad)), "comes from the request")
	}
	checkAdaptErr(t, caddytest.ValidateCaddyfile(t, cfg("acme")), "is the same for every user")
	// The portal's answer, or the user an authentication handler vouched for.
	for _, ok := range []string{"{http.reverse_proxy.header.X-Account-Id}", "{http.auth.user.id}"} {
		if err := caddytest.ValidateCaddyfile(t, cfg(ok)); err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
	}
}
