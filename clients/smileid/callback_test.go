package smileid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func nowTS(clk *testClock) string { return clk.Now().UTC().Format(TimestampLayout) }

func TestCallbackConfirmedAuthenticationCompletesOnce(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))

	res, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220"))
	if err != nil {
		t.Fatalf("HandleCallback: %v", err)
	}
	if res.State != StateAuthenticated || !res.Changed || res.ResultCode != "1220" || res.UserID != testUser || res.StateHandle != testState {
		t.Fatalf("result = %+v", res)
	}
	ts := nowTS(h.clk)
	wantReq := `{"signature":"` + refSign(testKey, ts) + `","timestamp":"` + ts + `","partner_id":"172","user_id":"user-42","job_id":"` +
		s.JobID + `","image_links":false,"history":false}`
	if got := string(h.f.StatusCalls()[0]); got != wantReq {
		t.Fatalf("job_status body\n got %s\nwant %s", got, wantReq)
	}
	if st, _ := h.c.Status(s.JobID); st != StateAuthenticated {
		t.Errorf("Status = %s", st)
	}
	e, err := h.c.Complete(s.JobID)
	if err != nil || e.UserID != testUser || e.StateHandle != testState || e.ResultCode != "1220" {
		t.Fatalf("Complete = %+v, %v", e, err)
	}
	if _, err := h.c.Complete(s.JobID); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("second Complete err = %v, want ErrUnknownJob", err)
	}
	if st, _ := h.c.Status(s.JobID); st != StateUnknown {
		t.Errorf("Status after Complete = %s", st)
	}
	// A late callback for the consumed job is refused.
	if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("late callback err = %v", err)
	}
}

func TestCallbackRefusals(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	ts := nowTS(h.clk)
	good := refSign(testKey, ts)
	old := h.clk.Now().Add(-5*time.Minute - time.Millisecond).UTC().Format(TimestampLayout)
	future := h.clk.Now().Add(5*time.Minute + time.Millisecond).UTC().Format(TimestampLayout)
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"bad signature", callbackJSON(ts, refSign("another-key", ts), s.JobID, testUser, "1220"), ErrBadSignature},
		{"signature not base64", callbackJSON(ts, "%%%", s.JobID, testUser, "1220"), ErrBadSignature},
		{"signature of another timestamp", callbackJSON(ts, refSign(testKey, old), s.JobID, testUser, "1220"), ErrBadSignature},
		{"stale timestamp", callbackJSON(old, refSign(testKey, old), s.JobID, testUser, "1220"), ErrStaleTimestamp},
		{"far-future timestamp", callbackJSON(future, refSign(testKey, future), s.JobID, testUser, "1220"), ErrStaleTimestamp},
		{"timestamp not ISO 8601", callbackJSON("yesterday", refSign(testKey, "yesterday"), s.JobID, testUser, "1220"), ErrBadTimestamp},
		{"unknown job id", callbackJSON(ts, good, "00000000000000000000000000000000", testUser, "1220"), ErrUnknownJob},
		{"user mismatch", callbackJSON(ts, good, s.JobID, "someone-else", "1220"), ErrJobMismatch},
		{"job type mismatch", []byte(strings.Replace(string(callbackJSON(ts, good, s.JobID, testUser, "1220")), `"job_type":"2"`, `"job_type":"4"`, 1)), ErrJobMismatch},
		{"not JSON", []byte("ResultCode=1220"), ErrMalformed},
		{"JSON array", []byte(`[1]`), ErrMalformed},
		{"missing signature", callbackJSON(ts, "", s.JobID, testUser, "1220"), ErrMalformed},
		{"missing result code", callbackJSON(ts, good, s.JobID, testUser, ""), ErrMalformed},
		{"too large", append(callbackJSON(ts, good, s.JobID, testUser, "1220"), make([]byte, 64<<10)...), ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.c.HandleCallback(context.Background(), tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			secretsAbsent(t, err)
		})
	}
	if _, _, calls := h.f.Counts(); calls != 0 {
		t.Errorf("refused callbacks caused %d job-status calls", calls)
	}
	if st := h.c.Registry().Status(s.JobID); st != StatePending {
		t.Errorf("state after refusals = %s", st)
	}
}

func TestCallbackNumericJobTypeAccepted(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	body := strings.Replace(string(signedCallback(h.clk, s.JobID, "1220")), `"job_type":"2"`, `"job_type":2`, 1)
	if res, err := h.c.HandleCallback(context.Background(), []byte(body)); err != nil || res.State != StateAuthenticated {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

func TestCallbackDuplicateIsNoOp(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "0824"))
	body := signedCallback(h.clk, s.JobID, "0824")
	first, err := h.c.HandleCallback(context.Background(), body)
	if err != nil || first.State != StatePending || first.Duplicate {
		t.Fatalf("first = %+v, %v", first, err)
	}
	second, err := h.c.HandleCallback(context.Background(), body)
	if err != nil || !second.Duplicate || second.State != StatePending {
		t.Fatalf("second = %+v, %v", second, err)
	}
	if _, _, calls := h.f.Counts(); calls != 1 {
		t.Errorf("job-status calls = %d, want 1", calls)
	}
}

func TestCallbackRetriedAfterFailedConfirmation(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(func(map[string]any) jobStatusReply {
		return jobStatusReply{Status: 503, Body: map[string]any{"error": "busy"}}
	})
	body := signedCallback(h.clk, s.JobID, "1220")
	if _, err := h.c.HandleCallback(context.Background(), body); err == nil {
		t.Fatal("callback with failing job status succeeded")
	}
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	res, err := h.c.HandleCallback(context.Background(), body)
	if err != nil || res.Duplicate || res.State != StateAuthenticated {
		t.Fatalf("retry = %+v, %v", res, err)
	}
}

func TestProvisionalThenFinal(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "0824"))
	res, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "0824"))
	if err != nil || res.State != StatePending || res.Changed || res.ResultCode != "0824" {
		t.Fatalf("provisional = %+v, %v", res, err)
	}
	if st, _ := h.c.Status(s.JobID); st != StatePending {
		t.Fatalf("Status = %s", st)
	}
	if _, err := h.c.Complete(s.JobID); !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("Complete while pending err = %v", err)
	}
	h.clk.Advance(3 * time.Minute) // the human review ends
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	res, err = h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220"))
	if err != nil || res.State != StateAuthenticated || !res.Changed {
		t.Fatalf("final = %+v, %v", res, err)
	}
}

func TestForgedCallbackDoesNotComplete(t *testing.T) {
	tests := []struct {
		name   string
		status func(h *harness) func(map[string]any) jobStatusReply
		want   State
		err    error
	}{
		{
			name: "job status says under review",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), true, true, "0824")
			},
			want: StatePending,
		},
		{
			name: "job status says not complete",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), false, false, "")
			},
			want: StatePending,
		},
		{
			name: "job status says rejected",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), true, false, "0821")
			},
			want: StateRejected,
		},
		{
			name: "authenticated code without job_success",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), true, false, "1220")
			},
			want: StateRejected,
		},
		{
			name: "unknown code",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return statusAnswer(nowTS(h.clk), true, true, "9999")
			},
			want: StateRejected,
		},
		{
			name: "job status result names another job",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return func(map[string]any) jobStatusReply {
					ts := nowTS(h.clk)
					return jobStatusReply{200, statusBody(ts, refSign(testKey, ts), true, true, "1220", "other-job", testUser, "2")}
				}
			},
			want: StatePending, err: ErrJobMismatch,
		},
		{
			name: "job status result names another user",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return func(req map[string]any) jobStatusReply {
					ts := nowTS(h.clk)
					return jobStatusReply{200, statusBody(ts, refSign(testKey, ts), true, true, "1220", req["job_id"].(string), "intruder", "2")}
				}
			},
			want: StatePending, err: ErrJobMismatch,
		},
		{
			name: "complete without result",
			status: func(h *harness) func(map[string]any) jobStatusReply {
				return func(map[string]any) jobStatusReply {
					ts := nowTS(h.clk)
					return jobStatusReply{200, map[string]any{"timestamp": ts, "signature": refSign(testKey, ts), "job_complete": true, "job_success": true, "code": "2302", "result": nil}}
				}
			},
			want: StatePending, err: ErrBadResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			s := h.submit(t)
			h.setJobStatus(tt.status(h))
			res, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220"))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
			} else if err != nil || res.State != tt.want {
				t.Fatalf("res = %+v, err = %v", res, err)
			}
			if st := h.c.Registry().Status(s.JobID); st != tt.want {
				t.Fatalf("state = %s, want %s", st, tt.want)
			}
			if _, err := h.c.Complete(s.JobID); err == nil {
				t.Fatal("a forged callback let Complete succeed")
			}
		})
	}
}

func TestJobStatusSignatureChecked(t *testing.T) {
	tests := []struct {
		name string
		ts   func(h *harness) string
		sig  func(ts string) string
		want error
	}{
		{"bad signature", func(h *harness) string { return nowTS(h.clk) }, func(ts string) string { return refSign("wrong-key", ts) }, ErrBadSignature},
		{"empty signature", func(h *harness) string { return nowTS(h.clk) }, func(string) string { return "" }, ErrBadSignature},
		{"older than the job", func(h *harness) string {
			return h.clk.Now().Add(-6 * time.Minute).UTC().Format(TimestampLayout)
		}, func(ts string) string { return refSign(testKey, ts) }, ErrStaleTimestamp},
		{"far future", func(h *harness) string {
			return h.clk.Now().Add(6 * time.Minute).UTC().Format(TimestampLayout)
		}, func(ts string) string { return refSign(testKey, ts) }, ErrStaleTimestamp},
		{"no timestamp", func(*harness) string { return "" }, func(ts string) string { return refSign(testKey, ts) }, ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			s := h.submit(t)
			h.setJobStatus(func(req map[string]any) jobStatusReply {
				ts := tt.ts(h)
				return jobStatusReply{200, statusBody(ts, tt.sig(ts), true, true, "1220", req["job_id"].(string), testUser, "2")}
			})
			_, err := h.c.Confirm(context.Background(), s.JobID)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrBadJobStatus) {
				t.Fatalf("err = %v, want %v and ErrBadJobStatus", err, tt.want)
			}
			// The answer's fault, not a callback's: Smile ID should retry.
			if Permanent(err) {
				t.Fatalf("Permanent(%v) = true", err)
			}
			secretsAbsent(t, err)
			if st := h.c.Registry().Status(s.JobID); st != StatePending {
				t.Fatalf("state = %s", st)
			}
		})
	}
}

func TestJobStatusTimestampOfJobTimeAccepted(t *testing.T) {
	// If Smile ID stamps the answer with the job's own time, an answer
	// read long after submission still verifies.
	h := newHarness(t, nil)
	s := h.submit(t)
	jobTime := nowTS(h.clk)
	h.clk.Advance(12 * time.Minute)
	h.setJobStatus(statusAnswer(jobTime, true, true, "1220"))
	res, err := h.c.Confirm(context.Background(), s.JobID)
	if err != nil || res.State != StateAuthenticated {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

func TestTerminalStateIsFinal(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, false, "0821"))
	if res, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "0821")); err != nil || res.State != StateRejected {
		t.Fatalf("res = %+v, %v", res, err)
	}
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	res, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220"))
	if err != nil || res.State != StateRejected || res.Changed {
		t.Fatalf("after rejection = %+v, %v", res, err)
	}
	if res, err := h.c.Confirm(context.Background(), s.JobID); err != nil || res.State != StateRejected {
		t.Fatalf("Confirm after rejection = %+v, %v", res, err)
	}
	if _, _, calls := h.f.Counts(); calls != 1 {
		t.Errorf("job-status calls = %d, want 1", calls)
	}
}

func TestConfirmationsBounded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxConfirmations = 2 })
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "0824"))
	for i := 0; i < 2; i++ {
		h.clk.Advance(time.Second) // distinct bodies: not duplicates
		if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "0824")); err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
	h.clk.Advance(time.Second)
	if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); !errors.Is(err, ErrTooManyConfirms) {
		t.Fatalf("err = %v, want ErrTooManyConfirms", err)
	}
	if _, _, calls := h.f.Counts(); calls != 2 {
		t.Errorf("job-status calls = %d, want 2", calls)
	}
}

// TestPollConfirmsAfterAnOutageUsedTheCallbackBudget: callbacks whose
// job-status calls failed (Smile ID down, retrying its callback) use up
// MaxConfirmations; the page's poll still reaches the result once Smile
// ID is back, and the poll's own calls are bounded too.
func TestPollConfirmsAfterAnOutageUsedTheCallbackBudget(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxConfirmations = 2; c.PendingTTL = 2 * time.Minute })
	s := h.submit(t)
	h.setJobStatus(func(map[string]any) jobStatusReply {
		return jobStatusReply{http.StatusServiceUnavailable, map[string]string{}}
	})
	for i := 0; i < 2; i++ {
		h.clk.Advance(time.Second)
		if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); err == nil || Permanent(err) {
			t.Fatalf("callback %d during the outage: %v, want a transient error", i, err)
		}
	}
	h.clk.Advance(time.Second)
	if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); !errors.Is(err, ErrTooManyConfirms) {
		t.Fatalf("err = %v, want ErrTooManyConfirms", err)
	}
	// Polls: 2 minutes of life, one every 30 s: 5 calls on top of the 2.
	for i := 0; i < 4; i++ {
		if _, err := h.c.ConfirmForPoll(context.Background(), s.JobID); err == nil || errors.Is(err, ErrTooManyConfirms) {
			t.Fatalf("poll %d during the outage: %v, want Smile ID's failure", i, err)
		}
	}
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	if _, err := h.c.Confirm(context.Background(), s.JobID); !errors.Is(err, ErrTooManyConfirms) {
		t.Fatalf("Confirm after the outage: %v, want ErrTooManyConfirms (the callbacks' budget)", err)
	}
	res, err := h.c.ConfirmForPoll(context.Background(), s.JobID)
	if err != nil || res.State != StateAuthenticated {
		t.Fatalf("the poll once Smile ID is back: %+v %v", res, err)
	}
	if _, _, calls := h.f.Counts(); calls != 2+5 {
		t.Errorf("job-status calls = %d, want 7", calls)
	}

	// The poll's ceiling holds as well.
	s2 := h.submit(t)
	h.setJobStatus(func(map[string]any) jobStatusReply {
		return jobStatusReply{http.StatusServiceUnavailable, map[string]string{}}
	})
	for i := 0; i < 7; i++ {
		if _, err := h.c.ConfirmForPoll(context.Background(), s2.JobID); errors.Is(err, ErrTooManyConfirms) {
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	if _, err := h.c.ConfirmForPoll(context.Background(), s2.JobID); !errors.Is(err, ErrTooManyConfirms) {
		t.Fatalf("the 8th poll: %v, want ErrTooManyConfirms", err)
	}
}

func TestCallbackForExpiredJob(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PendingTTL = time.Minute })
	s := h.submit(t)
	h.clk.Advance(time.Minute)
	if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("err = %v, want ErrUnknownJob", err)
	}
	if st, _ := h.c.Status(s.JobID); st != StateUnknown {
		t.Errorf("Status = %s", st)
	}
}

func TestObserverReports(t *testing.T) {
	h := newHarness(t, nil)
	s := h.submit(t)
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, s.JobID, "1220")); err != nil {
		t.Fatal(err)
	}
	h.reports.mu.Lock()
	defer h.reports.mu.Unlock()
	var ops []string
	for _, r := range h.reports.rs {
		ops = append(ops, string(r.Op))
		if r.Err != nil {
			t.Errorf("report %+v has an error", r)
		}
	}
	if got := strings.Join(ops, ","); got != "upload,zip_put,job_status,callback" {
		t.Fatalf("ops = %s", got)
	}
	if last := h.reports.rs[len(h.reports.rs)-1]; last.State != StateAuthenticated {
		t.Errorf("callback report state = %s", last.State)
	}
}

func TestConcurrentCallbacks(t *testing.T) {
	h := newHarness(t, nil)
	var jobs []string
	for i := 0; i < 8; i++ {
		jobs = append(jobs, h.submit(t).JobID)
	}
	h.setJobStatus(statusAnswer(nowTS(h.clk), true, true, "1220"))
	var wg sync.WaitGroup
	for _, id := range jobs {
		for k := 0; k < 3; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.c.HandleCallback(context.Background(), signedCallback(h.clk, id, "1220")); err != nil {
					t.Errorf("callback: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	for _, id := range jobs {
		if _, err := h.c.Complete(id); err != nil {
			t.Errorf("Complete(%s): %v", id, err)
		}
	}
}

func TestPermanent(t *testing.T) {
	for _, err := range []error{ErrBadSignature, ErrStaleTimestamp, ErrUnknownJob, ErrMalformed, ErrBodyTooLarge, ErrJobMismatch, ErrTooManyConfirms, ErrBadTimestamp} {
		if !Permanent(err) {
			t.Errorf("Permanent(%v) = false", err)
		}
	}
	for _, err := range []error{&VendorError{Op: OpJobStatus, Status: 503}, ErrResponseTooLarge, context.DeadlineExceeded,
		fmt.Errorf("%w: %w", ErrBadJobStatus, ErrBadSignature), fmt.Errorf("%w: %w", ErrBadJobStatus, ErrJobMismatch),
		fmt.Errorf("%w: %w", ErrStoreUnavailable, context.DeadlineExceeded)} {
		if Permanent(err) {
			t.Errorf("Permanent(%v) = true", err)
		}
	}
}

// TestUnauthenticated: the refusals anyone can provoke are those before
// the signature verified; a stale pair, an unknown job or another user
// needed the key, and a job-status answer's faults are not the callback's.
func TestUnauthenticated(t *testing.T) {
	for _, err := range []error{ErrBadSignature, ErrMalformed, ErrBodyTooLarge, ErrBadTimestamp, fmt.Errorf("smileid: callback: %w", ErrBadSignature)} {
		if !Unauthenticated(err) {
			t.Errorf("Unauthenticated(%v) = false", err)
		}
	}
	for _, err := range []error{nil, ErrStaleTimestamp, ErrUnknownJob, ErrJobMismatch, ErrTooManyConfirms, &VendorError{Op: OpJobStatus, Status: 503},
		fmt.Errorf("%w: %w", ErrBadJobStatus, ErrBadSignature), fmt.Errorf("%w: %w", ErrBadJobStatus, ErrBadTimestamp)} {
		if Unauthenticated(err) {
			t.Errorf("Unauthenticated(%v) = true", err)
		}
	}
}

// TestNoGoroutinesSpawned: the package starts none of its own, so
// handling callbacks and polling leaves the count where it was.
func TestNoGoroutinesSpawned(t *testing.T) {
	c, err := New(Config{PartnerID: testPartner, APIKey: testKey, CallbackURL: testCallback, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	ts := t0.UTC().Format(TimestampLayout)
	for i := 0; i < 100; i++ {
		c.HandleCallback(context.Background(), callbackJSON(ts, refSign(testKey, ts), firstJobID, testUser, "1220"))
		c.Status(firstJobID)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines %d → %d", before, after)
	}
}
