package forter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEncodeLogin is the per-attempt request encoding: cookie lookup,
// body building and JSON.
func BenchmarkEncodeLogin(b *testing.B) {
	c := newClient(b, "https://forter.invalid", nil)
	req := Request{Attempt: loginAttempt(TestIPApprove), AccountID: "e520-ba9a-367-60b"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(c.loginBody(req)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeVerdict(b *testing.B) {
	c := newClient(b, "https://forter.invalid", nil)
	body := []byte(`{"forterDecision":"VERIFICATION_REQUIRED","decisionReason":"","accountId":"e520-ba9a-367-60b",` +
		`"correlationId":"HGJ7512345H3DE","recommendation":"EMAIL_VERIFICATION","verificationMethod":` +
		`{"verificationId":"88yr28r890u","correlationId":"e520-ba9a-367-60b","type":"OTP_EMAIL"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var r LoginResponse
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := c.verdict(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLoopback is a whole call over a kept-alive loopback
// connection.
func BenchmarkCheckLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"forterDecision":"APPROVE","correlationId":"C"}`)
	}))
	defer srv.Close()
	c := newClient(b, srv.URL, nil)
	req := Request{Attempt: loginAttempt(TestIPApprove), AccountID: "e520-ba9a-367-60b"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
