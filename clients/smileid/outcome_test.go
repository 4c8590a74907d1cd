package smileid

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestReportOutcomes: every outbound call is reported once with an
// outcome from the fixed set, including a 2xx answer the client refused.
func TestReportOutcomes(t *testing.T) {
	tests := []struct {
		name string
		mod  func(h *harness)
		// confirm: call Confirm after a successful submit.
		confirm bool
		want    string // op=outcome, comma separated
	}{
		{"ok", nil, false, "upload=ok,zip_put=ok"},
		{"upload 503", func(h *harness) { h.f.SetUploadReply(func(string) (int, string) { return 503, `{}` }) }, false, "upload=status_5xx"},
		{"upload 401", func(h *harness) { h.f.SetUploadReply(func(string) (int, string) { return 401, `{"code":"2205"}` }) }, false, "upload=status_4xx"},
		{"upload redirect", func(h *harness) { h.f.SetUploadReply(func(string) (int, string) { return 302, `{}` }) }, false, "upload=status_other"},
		{"upload junk", func(h *harness) { h.f.SetUploadReply(func(string) (int, string) { return 200, `<html>` }) }, false, "upload=malformed"},
		{"upload refused", func(h *harness) { h.f.Close() }, false, "upload=refused"},
		{"upload hangs", func(h *harness) { h.f.SetHang("/v1/upload", true) }, false, "upload=timeout"},
		{"zip refused", func(h *harness) { h.f.SetPutStatus(500) }, false, "upload=ok,zip_put=status_5xx"},
		{"status ok", func(h *harness) { h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220")) }, true, "upload=ok,zip_put=ok,job_status=ok"},
		{"status forged", func(h *harness) {
			h.setJobStatus(func(req map[string]any) jobStatusReply {
				r := statusAnswer(nowTS(h.clk), true, true, "1220")(req)
				r.Body.(map[string]any)["signature"] = refSign("another key", nowTS(h.clk))
				return r
			})
		}, true, "upload=ok,zip_put=ok,job_status=signature"},
		{"status other job", func(h *harness) {
			h.setJobStatus(func(req map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), true, true, "1220")(map[string]any{"job_id": "another", "user_id": req["user_id"]})
			})
		}, true, "upload=ok,zip_put=ok,job_status=mismatch"},
		{"status junk", func(h *harness) {
			h.setJobStatus(func(map[string]any) jobStatusReply { return jobStatusReply{Status: 200, Body: "not an object"} })
		}, true, "upload=ok,zip_put=ok,job_status=malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A second: a TLS handshake under -race on a busy machine can
			// take a good part of a shorter one.
			h := newHarness(t, func(c *Config) { c.Timeout = time.Second })
			if tt.mod != nil {
				tt.mod(h)
			}
			s, err := h.c.Submit(context.Background(), SubmitRequest{UserID: testUser, Selfie: jpeg, Liveness: [][]byte{live1}})
			if tt.confirm {
				if err != nil {
					t.Fatal(err)
				}
				h.c.Confirm(context.Background(), s.JobID)
			}
			h.reports.mu.Lock()
			defer h.reports.mu.Unlock()
			var got []string
			for _, r := range h.reports.rs {
				got = append(got, string(r.Op)+"="+r.Outcome)
				if (r.Outcome == OutcomeOK) != (r.Err == nil) {
					t.Errorf("%s: outcome %s with error %v", r.Op, r.Outcome, r.Err)
				}
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Fatalf("reports %s, want %s", g, tt.want)
			}
		})
	}
}

// TestOutcomeCanceled: a caller that gives up is not Smile ID's timeout.
func TestOutcomeCanceled(t *testing.T) {
	h := newHarness(t, nil)
	h.f.SetHang("/v1/upload", true)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := h.c.Submit(ctx, SubmitRequest{UserID: testUser, Selfie: jpeg, Liveness: [][]byte{live1}}); err == nil {
		t.Fatal("Submit succeeded")
	}
	h.reports.mu.Lock()
	defer h.reports.mu.Unlock()
	if len(h.reports.rs) != 1 || h.reports.rs[0].Outcome != OutcomeCanceled {
		t.Fatalf("reports %+v", h.reports.rs)
	}
}
