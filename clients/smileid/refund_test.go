package smileid

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestSubmitRefundsOnlyWhenNoJobWasCreated: with a user limit of 1, a
// submission that failed before Smile ID returned an upload URL (no
// answer, 5xx, a 2xx without upload_url) is given back, so the retry once
// Smile ID is back is admitted; one that failed otherwise (a 4xx, an
// upload URL returned, the zip's PUT failing, the caller giving up)
// stays counted and the retry is refused.
func TestSubmitRefundsOnlyWhenNoJobWasCreated(t *testing.T) {
	tests := []struct {
		name     string
		fail     func(h *harness) (restore func())
		ctx      func() (context.Context, context.CancelFunc)
		refunded bool
	}{
		{"upload refused", func(h *harness) func() {
			h.c.upload = "https://127.0.0.1:1/v1/upload"
			url := h.f.URL + "/v1/upload"
			return func() { h.c.upload = url }
		}, nil, true},
		{"upload hangs", func(h *harness) func() {
			h.f.SetHang("/v1/upload", true)
			return func() { h.f.SetHang("/v1/upload", false) }
		}, nil, true},
		{"upload 503", uploadAnswer(503, `{"error":"maintenance"}`), nil, true},
		{"upload 200 junk", uploadAnswer(200, `<html>gateway</html>`), nil, true},
		{"upload 200 without upload_url", uploadAnswer(200, `{"smile_job_id":"1"}`), nil, true},
		{"upload 401", uploadAnswer(401, `{"code":"2205"}`), nil, false},
		{"upload 302", uploadAnswer(302, `{}`), nil, false},
		{"upload_url not https", uploadAnswer(200, `{"upload_url":"http://bucket.example/x","smile_job_id":"1"}`), nil, false},
		{"upload answer too large", uploadAnswer(200, `{"upload_url":"https://bucket.example/x","pad":"`+string(make([]byte, 70<<10))+`"}`), nil, false},
		{"zip_put 500", func(h *harness) func() {
			h.f.SetPutStatus(500)
			return func() { h.f.SetPutStatus(200) }
		}, nil, false},
		{"caller gives up while the upload hangs", func(h *harness) func() {
			h.f.SetHang("/v1/upload", true)
			return func() { h.f.SetHang("/v1/upload", false) }
		}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, false},
	}
	ip := netip.MustParseAddr("203.0.113.7")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := NewMemoryLimiter(Rate{N: 1, Window: time.Hour}, Rate{N: 1, Window: time.Hour}, 100, nil)
			h := newHarness(t, func(c *Config) { c.Limiter, c.Timeout = lim, time.Second })
			req := SubmitRequest{UserID: testUser, ClientIP: ip, Selfie: jpeg, Liveness: [][]byte{live1}}
			restore := tt.fail(h)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			_, err := h.c.Submit(ctx, req)
			cancel()
			if err == nil {
				t.Fatal("the failing submission succeeded")
			}
			restore()
			_, err = h.c.Submit(context.Background(), req)
			var le *LimitError
			switch {
			case tt.refunded && err != nil:
				t.Fatalf("retry after a failure that created no job: %v, want it admitted", err)
			case !tt.refunded && !errors.As(err, &le):
				t.Fatalf("retry after a failure that may have created a job: %v, want the limit", err)
			}
		})
	}
}

func uploadAnswer(status int, body string) func(h *harness) func() {
	return func(h *harness) func() {
		okStatus, okBody := h.f.UploadReply()
		h.f.SetUploadReply(func(string) (int, string) { return status, body })
		return func() { h.f.SetUploadReply(func(string) (int, string) { return okStatus, okBody }) }
	}
}

// TestMemoryLimiterRefund: a refund uncounts its own admission, per user
// and per IP, once; never from a window that started since.
func TestMemoryLimiterRefund(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(Rate{N: 1, Window: time.Hour}, Rate{N: 2, Window: time.Hour}, 10, func() time.Time { return now })
	ctx := context.Background()
	ip := netip.MustParseAddr("198.51.100.1")
	refund, err := l.AdmitSubmit(ctx, "alice", ip)
	if err != nil {
		t.Fatal(err)
	}
	refund(ctx)
	refund(ctx) // twice: still one submission given back
	if _, err := l.AdmitSubmit(ctx, "alice", ip); err != nil {
		t.Fatalf("after the refund: %v", err)
	}
	if _, err := l.AdmitSubmit(ctx, "bob", ip); err != nil {
		t.Fatalf("the IP holds alice's kept submission only: %v", err)
	}
	if err := l.AllowSubmit(ctx, "carol", ip); err == nil {
		t.Fatal("a double refund freed a kept submission")
	}
	// A refund arriving after its window ended lowers nothing in the next.
	now = now.Add(time.Hour)
	late, err := l.AdmitSubmit(ctx, "dave", netip.MustParseAddr("198.51.100.2"))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := l.AdmitSubmit(ctx, "dave", netip.MustParseAddr("198.51.100.2")); err != nil {
		t.Fatal(err)
	}
	late(ctx)
	if err := l.AllowSubmit(ctx, "dave", netip.MustParseAddr("198.51.100.3")); err == nil {
		t.Fatal("a refund from an ended window freed a submission in the next")
	}
}
