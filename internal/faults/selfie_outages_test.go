//go:build faults

package faults

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

const (
	smilePartner  = "172"
	smileKey      = "SMILE-KEY-faults-3b9a"
	smileCallback = "https://guard.example/verify/smileid/callback"
	// smileTimeout is the guard's timeout for each call to Smile ID;
	// smileMargin is the generous allowance on top of it for an answer
	// to be "not hung" on a shared, slow machine.
	smileTimeout = time.Second
	smileMargin  = 5 * time.Second
)

// vendorSwitch stands between the guard and a vendor on loopback and
// forwards TCP; switched off it closes its listener and every connection
// through it, so the vendor's host refuses connections, as when it is
// down, until it is switched on again at the same address.
type vendorSwitch struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func newVendorSwitch(t *testing.T, target string) *vendorSwitch {
	s := &vendorSwitch{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Off)
	return s
}

// URL is the switch's address as an https base URL (the vendor speaks
// TLS through it; its certificate names 127.0.0.1).
func (s *vendorSwitch) URL() string { return "https://" + s.addr }

func (s *vendorSwitch) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.forward(c)
		}
	}()
}

func (s *vendorSwitch) forward(c net.Conn) {
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		c.Close()
		return
	}
	s.mu.Lock()
	if s.ln == nil {
		s.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	s.conns[c], s.conns[up] = struct{}{}, struct{}{}
	s.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.conns, up)
	s.mu.Unlock()
}

// Off refuses connections from now on and cuts the open ones (the
// guard's kept-alive connections would otherwise still get through).
func (s *vendorSwitch) Off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
}

// On listens again at the same address.
func (s *vendorSwitch) On() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("switch on again at %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// selfieConfig: the sandbox challenges sandbox-challenge; the step-up
// offers the selfie; Smile ID is reached through api (base_url) and its
// uploads go wherever the fake's upload answer says.
func selfieConfig(portalURL, apiURL, caFile string, userLimit int) string {
	return fmt.Sprintf(`{
	admin {{admin}}
	auto_https off
	storage file_system {{dir}}/storage
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		sandbox
		smileid {
			partner_id   %s
			api_key      %s
			callback_url %s
			base_url     %s
			trust_pem    %s
			timeout      %s
			user_limit   %d 1h
			ip_limit     100 1h
		}
	}
}
http://127.0.0.1:{{port.http}} {
	metrics /metrics
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines sandbox
		step_up /verify
	}
	handle /verify* {
		login_guard {
			event step_up
			methods selfie
		}
	}
	reverse_proxy %s
}
`, smilePartner, smileKey, smileCallback, apiURL, caFile, smileTimeout, userLimit, portalURL)
}

// selfieRig is one guard process in front of the fake Smile ID, with a
// switch on the API host and one on the upload bucket's host.
type selfieRig struct {
	p      *caddyproc.Proc
	base   string
	smile  *smilefake.Server
	api    *vendorSwitch
	bucket *vendorSwitch
	body   string
	jobs   int // uploads the fake has seen, as far as the test counted
}

func newSelfieRig(t *testing.T) *selfieRig { return newSelfieRigLimited(t, 100) }

// newSelfieRigLimited is newSelfieRig with userLimit paid jobs per user
// an hour.
func newSelfieRigLimited(t *testing.T, userLimit int) *selfieRig {
	pt := newPortal(t)
	smile := smilefake.NewServer(t, smilePartner, smileKey, smileCallback)
	target := strings.TrimPrefix(smile.URL, "https://")
	r := &selfieRig{smile: smile, api: newVendorSwitch(t, target), bucket: newVendorSwitch(t, target)}
	// The presigned upload URL points at the bucket's switch.
	smile.SetUploadReply(func(string) (int, string) {
		return http.StatusOK, fmt.Sprintf(`{"upload_url":%q,"ref_id":"172-0000000194-abc","smile_job_id":"0000000194","code":"2202"}`,
			r.bucket.URL()+smile.UploadPath()+"?"+smilefake.UploadSecret)
	})
	r.p = caddyproc.Start(t, selfieConfig(pt.URL, r.api.URL(), smile.CAFile, userLimit), caddyproc.Options{})
	r.base = r.p.URL("http")
	b, _ := json.Marshal(map[string]any{"selfie": faultsJPEG(t, 10), "liveness": []string{faultsJPEG(t, 40), faultsJPEG(t, 80)}})
	r.body = string(b)
	return r
}

// faultsJPEG is a camera-sized JPEG, base64 encoded as the page sends it.
func faultsJPEG(t *testing.T, shade uint8) string {
	img := image.NewGray(image.Rect(0, 0, 96, 128))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// challenged is a browser whose login was challenged to step up.
func (r *selfieRig) challenged(t *testing.T, ip string) *browser {
	t.Helper()
	b := newBrowser(ip)
	if res := b.do("POST", r.base+"/api/login", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password); res.status != http.StatusSeeOther {
		t.Fatalf("challenge: %d %v", res.status, res.err)
	}
	return b
}

// timed runs one request of the page's and fails the test when it took
// longer than the guard's bound: calls × timeout plus the margin.
func timed(t *testing.T, calls int, what string, do func() result) result {
	t.Helper()
	start := time.Now()
	res := do()
	if took := time.Since(start); took > time.Duration(calls)*smileTimeout+smileMargin {
		t.Errorf("%s took %v: longer than %d × the %v timeout plus %v", what, took, calls, smileTimeout, smileMargin)
	}
	if res.err != nil {
		t.Fatalf("%s: %v", what, res.err)
	}
	return res
}

func (r *selfieRig) submit(t *testing.T, b *browser) result {
	t.Helper()
	// A submission makes two calls: the upload request and the zip's PUT.
	return timed(t, 2, "submit", func() result { return b.do("POST", r.base+"/verify/selfie/submit", "application/json", r.body) })
}

func (r *selfieRig) poll(t *testing.T, b *browser) result {
	t.Helper()
	return timed(t, 1, "poll", func() result { return b.do("POST", r.base+"/verify/selfie/status", "application/json", "{}") })
}

// submitted submits a selfie that Smile ID takes and returns its job id.
func (r *selfieRig) submitted(t *testing.T, b *browser) string {
	t.Helper()
	if res := r.submit(t, b); res.status != http.StatusAccepted || res.body != `{"state":"pending"}` {
		t.Fatalf("submit with Smile ID up: %d %s", res.status, res.body)
	}
	uploads, _, _ := r.smile.Counts()
	if uploads != r.jobs+1 {
		t.Fatalf("Smile ID saw %d uploads, want %d", uploads, r.jobs+1)
	}
	r.jobs = uploads
	job, _ := r.smile.Job(uploads - 1)["job_id"].(string)
	return job
}

// callback posts Smile ID's callback for job, signed at ts.
func (r *selfieRig) callback(t *testing.T, job string, ts time.Time) result {
	t.Helper()
	stamp := ts.UTC().Format("2006-01-02T15:04:05.000Z")
	body := smilefake.Callback(stamp, smilefake.Sign(smileKey, smilePartner, stamp), job, "sandbox-challenge", "1220")
	c := client(10 * time.Second)
	return timed(t, 1, "callback", func() result {
		return post(c, r.base+"/verify/smileid/callback", "application/json", string(body), nil)
	})
}

// finish has Smile ID authenticate job, delivers its callback and checks
// the person's page completes the step-up and gets the held login.
func (r *selfieRig) finish(t *testing.T, b *browser, job string) {
	t.Helper()
	r.smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: true, Code: "1220"})
	if res := r.callback(t, job, time.Now()); res.status != http.StatusOK {
		t.Fatalf("callback with Smile ID back: %d %s", res.status, res.body)
	}
	r.authenticated(t, b)
}

// authenticated checks the page reads authenticated and the step-up
// completes.
func (r *selfieRig) authenticated(t *testing.T, b *browser) {
	t.Helper()
	if res := r.poll(t, b); res.status != http.StatusOK || res.body != `{"state":"authenticated"}` {
		t.Fatalf("poll after the result: %d %s", res.status, res.body)
	}
	// 307 re-posts the held login; 303 sends the browser back to the form
	// with a pass when the login was not held: either completes.
	if res := b.do("POST", r.base+"/verify/complete", "application/x-www-form-urlencoded", ""); res.status != http.StatusTemporaryRedirect && res.status != http.StatusSeeOther {
		t.Fatalf("completion: %d %q %s", res.status, res.header.Get("Location"), res.body)
	}
}

// reasons are the audit reasons of the step-up lines of ip.
func (r *selfieRig) reasons(ip string) []string {
	var out []string
	for _, l := range audit(r.p) {
		if l["ip"] != ip {
			continue
		}
		rs, _ := l["reasons"].([]any)
		for _, x := range rs {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

// waitReason waits for an audit line of ip with reason (a line is
// written once its handler returns, which can be after the answer).
func (r *selfieRig) waitReason(t *testing.T, ip, reason string) {
	t.Helper()
	ok := func() bool {
		for _, x := range r.reasons(ip) {
			if x == reason {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("no audit reason %s for %s: %v", reason, ip, r.reasons(ip))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noSecrets checks that neither the API key, the signature of an upload
// or job-status request nor the presigned upload query appears in what
// was shown or logged.
func (r *selfieRig) noSecrets(t *testing.T, where, text string) {
	t.Helper()
	secrets := []string{smileKey, smilefake.UploadSecret}
	for _, up := range append(r.smile.Uploads(), r.smile.StatusCalls()...) {
		var req struct{ Signature string }
		if json.Unmarshal(up, &req) == nil && req.Signature != "" {
			secrets = append(secrets, req.Signature)
		}
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.12s…)", where, s)
		}
	}
}

// decisions reads the decisions_total samples naming reason.
func decisions(t *testing.T, metricsURL, reason string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(metricsPage(t, metricsURL), "\n") {
		if strings.HasPrefix(l, "caddy_login_guard_decisions_total{") && strings.Contains(l, `"`+reason+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// fault is one way Smile ID fails, switched on and off, and the call and
// outcome smileid_calls_total counts it under.
type fault struct {
	name          string
	on, off       func()
	call, outcome string
}

// smileCalls reads the smileid_calls_total sample of call and outcome (0
// when there is none yet).
func smileCalls(t *testing.T, metricsURL, call, outcome string) float64 {
	t.Helper()
	v := metric(t, metricsURL, `caddy_login_guard_smileid_calls_total{call="`+call+`",outcome="`+outcome+`"}`)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("smileid_calls_total %s %s: %q: %v", call, outcome, v, err)
	}
	return f
}

// TestSelfieSmileIDOutages drives the selfie step-up through Caddy while
// Smile ID refuses connections, hangs past the guard's timeout, answers
// 5xx, or answers 200 with junk (or, for the signed job-status answer, a
// signature that does not verify), at each call the guard makes:
//
//   - the submission (POST /v1/upload, then the zip's PUT): the page gets
//     a 502 with the "unavailable" answer within the timeouts, the state
//     is not spent, and the same browser's next submission, once Smile ID
//     is back, goes through to a completed step-up;
//   - the confirmation a callback triggers (POST /v1/job_status): Smile ID
//     gets a 503 so it retries, the job stays pending for the page, and
//     Smile ID's retry once it is back completes the step-up.
//
// Each failure has its audit reason and decisions_total sample; neither
// the API key, a signature nor the presigned upload query appears in a
// page or the log.
func TestSelfieSmileIDOutages(t *testing.T) {
	r := newSelfieRig(t)
	s := r.smile
	const (
		upload = "/v1/upload"
		status = "/v1/job_status"
	)
	// The upload answers are replaced around the default one (which points
	// the zip's PUT at the bucket's switch).
	defaultStatus, defaultBody := s.UploadReply()
	uploadReply := func(status int, body string) func() {
		return func() { s.SetUploadReply(func(string) (int, string) { return status, body }) }
	}
	restoreUpload := uploadReply(defaultStatus, defaultBody)
	submitFaults := []fault{
		{"upload refused", r.api.Off, r.api.On, "upload", "refused"},
		{"upload hangs", func() { s.SetHang(upload, true) }, func() { s.SetHang(upload, false) }, "upload", "timeout"},
		{"upload 503", uploadReply(http.StatusServiceUnavailable, `{"code":"2201","error":"maintenance"}`), restoreUpload, "upload", "status_5xx"},
		{"upload 200 junk", uploadReply(http.StatusOK, "<html>gateway says hello</html>"), restoreUpload, "upload", "malformed"},
		{"zip_put refused", r.bucket.Off, r.bucket.On, "zip_put", "refused"},
		{"zip_put hangs", func() { s.SetHang(s.UploadPath(), true) }, func() { s.SetHang(s.UploadPath(), false) }, "zip_put", "timeout"},
		{"zip_put 500", func() { s.SetPutStatus(http.StatusInternalServerError) }, func() { s.SetPutStatus(http.StatusOK) }, "zip_put", "status_5xx"},
	}
	for i, f := range submitFaults {
		t.Run("submit/"+f.name, func(t *testing.T) {
			ip := fmt.Sprintf("198.51.100.%d", 100+i)
			b := r.challenged(t, ip)
			failed := smileCalls(t, r.base+"/metrics", f.call, f.outcome)
			f.on()
			// As many tries as factor_attempts allows refused factors: an
			// outage is not the person's failure and spends nothing.
			for range 3 {
				res := r.submit(t, b)
				var page struct{ Error, Message string }
				if res.status != http.StatusBadGateway || json.Unmarshal([]byte(res.body), &page) != nil || page.Error != "unavailable" || page.Message == "" {
					t.Fatalf("submit while Smile ID fails: %d %s, want 502 with the unavailable answer", res.status, res.body)
				}
				r.noSecrets(t, "the page", res.body)
			}
			if got := smileCalls(t, r.base+"/metrics", f.call, f.outcome) - failed; got != 3 {
				t.Errorf("smileid_calls_total{call=%q,outcome=%q} rose by %v, want 3", f.call, f.outcome, got)
			}
			f.off()
			r.jobs, _, _ = s.Counts()
			// Not spent: the same browser's next try goes through.
			job := r.submitted(t, b)
			r.finish(t, b, job)
			r.waitReason(t, ip, "selfie_submit_failed")
		})
	}

	jobFaults := []fault{
		{"refused", r.api.Off, r.api.On, "job_status", "refused"},
		{"hangs", func() { s.SetHang(status, true) }, func() { s.SetHang(status, false) }, "job_status", "timeout"},
		{"503", func() {
			s.SetJobStatus(func(map[string]any) (int, any) {
				return http.StatusServiceUnavailable, map[string]string{"error": "maintenance"}
			})
		}, func() { s.SetJobStatus(nil) }, "job_status", "status_5xx"},
		{"200 junk", func() {
			s.SetJobStatus(func(map[string]any) (int, any) { return http.StatusOK, "gateway says hello" })
		}, func() { s.SetJobStatus(nil) }, "job_status", "malformed"},
		{"200 bad signature", func() {
			s.SetJobStatus(func(req map[string]any) (int, any) {
				ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
				job, _ := req["job_id"].(string)
				return http.StatusOK, smilefake.StatusBody(ts, smilefake.Sign("another-key", smilePartner, ts), true, true, "1220", job, "sandbox-challenge", "2")
			})
		}, func() { s.SetJobStatus(nil) }, "job_status", "signature"},
	}
	for i, f := range jobFaults {
		t.Run("callback job_status/"+f.name, func(t *testing.T) {
			ip := fmt.Sprintf("198.51.100.%d", 120+i)
			b := r.challenged(t, ip)
			job := r.submitted(t, b)
			failed := smileCalls(t, r.base+"/metrics", f.call, f.outcome)
			f.on()
			res := r.callback(t, job, time.Now())
			if res.status != http.StatusServiceUnavailable || res.body != `{"error":"retry"}` {
				t.Errorf("callback while Smile ID's job status fails: %d %s, want 503 so Smile ID retries", res.status, res.body)
			}
			if res := r.poll(t, b); res.status != http.StatusOK || res.body != `{"state":"pending"}` {
				t.Fatalf("poll during the outage: %d %s", res.status, res.body)
			}
			if got := smileCalls(t, r.base+"/metrics", f.call, f.outcome) - failed; got != 1 {
				t.Errorf("smileid_calls_total{call=%q,outcome=%q} rose by %v, want 1", f.call, f.outcome, got)
			}
			f.off()
			r.finish(t, b, job)
			r.waitReason(t, "127.0.0.1", "smileid_callback_unconfirmed")
		})
	}

	log := r.p.Log()
	r.noSecrets(t, "the log", log)
	for _, want := range []string{"smileid: submission failed", "smileid: callback not confirmed yet", `"op":"upload"`, `"op":"zip_put"`, `"op":"job_status"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	for _, reason := range []string{"selfie_submit_failed", "smileid_callback_unconfirmed"} {
		if len(decisions(t, r.base+"/metrics", reason)) == 0 {
			t.Errorf("no decisions_total sample for %s", reason)
		}
	}
}

// TestSelfiePollAfterAnOutage: Smile ID's job status fails while its
// callbacks keep coming (it retries each refused one): they use up the
// job-status calls a job's callbacks may cause (8). Once the job has
// waited 30 s the page's poll asks Smile ID itself: while Smile ID hangs
// that poll answers pending within the timeout, with its audit reason
// and a warning; once Smile ID is back the poll reaches the result and
// the step-up completes, where before the page read pending until the
// state expired and the person had to sign in again.
func TestSelfiePollAfterAnOutage(t *testing.T) {
	r := newSelfieRig(t)
	s := r.smile
	a, b := r.challenged(t, "198.51.100.140"), r.challenged(t, "198.51.100.141")
	first := time.Now()
	jobA := r.submitted(t, a)
	jobB := r.submitted(t, b)
	due := time.Now().Add(31 * time.Second) // smileid.ConfirmEvery after both submissions, and a second
	s.SetJobStatus(func(map[string]any) (int, any) {
		return http.StatusServiceUnavailable, map[string]string{"error": "maintenance"}
	})
	for i := range 8 {
		if res := r.callback(t, jobA, time.Now().Add(time.Duration(i)*time.Millisecond)); res.status != http.StatusServiceUnavailable {
			t.Fatalf("callback %d during the outage: %d %s", i, res.status, res.body)
		}
	}
	if res := r.callback(t, jobA, time.Now().Add(time.Second)); res.status != http.StatusBadRequest {
		t.Fatalf("callback past the budget: %d %s", res.status, res.body)
	}
	_, _, calls := s.Counts()
	if calls != 8 {
		t.Fatalf("Smile ID saw %d job-status calls for 9 callbacks, want 8", calls)
	}
	// The page polls every 3 s; before 30 s it only reads the registry.
	for time.Now().Before(first.Add(25 * time.Second)) {
		for _, br := range []*browser{a, b} {
			if res := r.poll(t, br); res.body != `{"state":"pending"}` {
				t.Fatalf("poll during the outage: %d %s", res.status, res.body)
			}
		}
		time.Sleep(3 * time.Second)
	}
	if _, _, n := s.Counts(); n != calls {
		t.Fatalf("polls before 30 s called Smile ID (%d calls)", n-calls)
	}
	time.Sleep(time.Until(due))

	s.SetHang("/v1/job_status", true)
	if res := r.poll(t, b); res.status != http.StatusOK || res.body != `{"state":"pending"}` {
		t.Fatalf("poll while Smile ID hangs: %d %s", res.status, res.body)
	}
	r.waitReason(t, "198.51.100.141", "selfie_pending_unconfirmed")
	s.SetHang("/v1/job_status", false)
	s.SetJobStatus(nil)

	s.SetStatus(jobA, smilefake.JobStatus{Complete: true, Success: true, Code: "1220"})
	r.authenticated(t, a)
	if _, _, n := s.Counts(); n != calls+1 {
		t.Errorf("job-status calls after the outage: %d, want %d (one per due poll)", n, calls+1)
	}
	r.finish(t, b, jobB)

	log := r.p.Log()
	r.noSecrets(t, "the log", log)
	if !strings.Contains(log, "smileid: confirmation by the page's poll failed") {
		t.Error("no warning for the poll's failed confirmation")
	}
	r.waitReason(t, "127.0.0.1", "smileid_callback_too_many_confirmations")
	if len(decisions(t, r.base+"/metrics", "selfie_pending_unconfirmed")) == 0 {
		t.Error("no decisions_total sample for selfie_pending_unconfirmed")
	}
}

// TestSelfieOutageGivesBackThePaidJobLimit: with a paid-job limit of 2
// per user, a person retrying through a Smile ID outage at the upload
// request (refused, hung, 5xx, junk: no upload URL ever came back, so no
// job exists) is not left over the limit once Smile ID is back; a failure
// after Smile ID returned an upload URL (the zip's PUT answered 500: a
// job may exist and may be billed) stays counted, and the next
// submission is refused 429.
func TestSelfieOutageGivesBackThePaidJobLimit(t *testing.T) {
	r := newSelfieRigLimited(t, 2)
	s := r.smile
	defaultStatus, defaultBody := s.UploadReply()
	uploadReply := func(status int, body string) func() {
		return func() { s.SetUploadReply(func(string) (int, string) { return status, body }) }
	}
	restoreUpload := uploadReply(defaultStatus, defaultBody)
	b := r.challenged(t, "198.51.100.150")
	for _, f := range []fault{
		{name: "upload refused", on: r.api.Off, off: r.api.On},
		{name: "upload hangs", on: func() { s.SetHang("/v1/upload", true) }, off: func() { s.SetHang("/v1/upload", false) }},
		{name: "upload 503", on: uploadReply(http.StatusServiceUnavailable, `{"error":"maintenance"}`), off: restoreUpload},
		{name: "upload 200 junk", on: uploadReply(http.StatusOK, "<html>gateway says hello</html>"), off: restoreUpload},
	} {
		f.on()
		res := r.submit(t, b)
		f.off()
		if res.status != http.StatusBadGateway {
			t.Fatalf("%s: submit %d %s, want 502 (a 429 means the failure spent the limit)", f.name, res.status, res.body)
		}
	}
	r.jobs, _, _ = s.Counts()
	job := r.submitted(t, b)
	r.finish(t, b, job)

	b = r.challenged(t, "198.51.100.151")
	s.SetPutStatus(http.StatusInternalServerError)
	res := r.submit(t, b)
	s.SetPutStatus(http.StatusOK)
	if res.status != http.StatusBadGateway {
		t.Fatalf("zip_put 500: submit %d %s, want 502", res.status, res.body)
	}
	if res := r.submit(t, b); res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("after a job and a failed PUT: submit %d %s, want 429 with Retry-After", res.status, res.body)
	}
	r.waitReason(t, "198.51.100.151", "selfie_rate_limited_user")
}
