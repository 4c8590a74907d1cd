package caddymodule_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

// TestSmileIDCallMetrics: a selfie Smile ID authenticates (upload, zip,
// job status all ok) and two it fails (the upload answered 503, then
// junk) are counted by call and outcome on Caddy's metrics endpoint, with
// a latency per call; no label carries a job id, a user or an IP.
func TestSmileIDCallMetrics(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	smile := newFakeSmileID(t)
	site := strings.Replace(fmt.Sprintf(selfieSite, upstream.Listener.Addr()), "{{listen}} {", "{{listen}} {\n\tmetrics /metrics", 1)
	g := caddytest.Start(t, selfieGlobal(smile, ""), site)
	before := scrape(t, g.URL+"/metrics")

	ok := newStepClient(t, g, "198.51.100.41")
	ok.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp, body := ok.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	job, _ := smile.Job(0)["job_id"].(string)
	smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: true, Code: "1220"})
	ts := smileNow(0)
	if resp, _ := ok.do("POST", "/verify/smileid/callback", "application/json", smileCallback(ts, smileSign(ts), job, "sandbox-challenge", "1220"), nil); resp.StatusCode != 200 {
		t.Fatalf("callback: %d", resp.StatusCode)
	}

	failing := newStepClient(t, g, "198.51.100.42")
	failing.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	for _, reply := range []func(string) (int, string){
		func(string) (int, string) { return 503, `{"error":"maintenance"}` },
		func(string) (int, string) { return 200, `<html>maintenance</html>` },
	} {
		smile.SetUploadReply(reply)
		if resp, body := failing.do("POST", "/verify/selfie/submit", "application/json", selfieBody(t), jsonHeader); resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("submit while Smile ID fails: %d %s", resp.StatusCode, body)
		}
	}

	after := scrape(t, g.URL+"/metrics")
	for series, want := range map[string]float64{
		`caddy_login_guard_smileid_calls_total{call="upload",outcome="ok"}`:              1,
		`caddy_login_guard_smileid_calls_total{call="upload",outcome="status_5xx"}`:      1,
		`caddy_login_guard_smileid_calls_total{call="upload",outcome="malformed"}`:       1,
		`caddy_login_guard_smileid_calls_total{call="zip_put",outcome="ok"}`:             1,
		`caddy_login_guard_smileid_calls_total{call="job_status",outcome="ok"}`:          1,
		`caddy_login_guard_smileid_call_latency_seconds_count{call="upload"}`:            3,
		`caddy_login_guard_smileid_call_latency_seconds_count{call="zip_put"}`:           1,
		`caddy_login_guard_smileid_call_latency_seconds_count{call="job_status"}`:        1,
		`caddy_login_guard_smileid_call_latency_seconds_bucket{call="upload",le="+Inf"}`: 3,
		`caddy_login_guard_smileid_calls_total{call="zip_put",outcome="status_5xx"}`:     0,
		`caddy_login_guard_smileid_calls_total{call="job_status",outcome="signature"}`:   0,
	} {
		if got := seriesValue(after, series) - seriesValue(before, series); got != want {
			t.Errorf("%s rose by %v, want %v", series, got, want)
		}
	}
	calls := regexp.MustCompile(`(?m)^caddy_login_guard_smileid_calls_total\{.*$`).FindAllString(after, -1)
	if len(calls) != 5 {
		t.Errorf("smileid_calls_total has %d series, want 5: %q", len(calls), calls)
	}
	for _, line := range regexp.MustCompile(`(?m)^caddy_login_guard_smileid.*$`).FindAllString(after, -1) {
		if strings.Contains(line, job) || strings.Contains(line, "sandbox-challenge") || strings.Contains(line, "198.51.100.") {
			t.Errorf("a Smile ID metric label carries a job, a user or an IP: %s", line)
		}
	}
}

// seriesValue is the value of one series (name and labels, exactly as
// exposed) in a scrape, 0 when absent.
func seriesValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return 0
}
