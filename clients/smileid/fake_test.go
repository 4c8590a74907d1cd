package smileid

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

const (
	testPartner  = "172"
	testKey      = "test-api-key-do-not-leak-0123456789"
	testCallback = "https://guard.example/smileid/callback"
	testUser     = "user-42"
	testState    = "state-handle-1"
	// uploadSecret stands for the presigned query of an upload URL: it
	// must never appear in an error.
	uploadSecret = smilefake.UploadSecret
)

var (
	t0    = time.Date(2026, 3, 10, 12, 0, 0, 123e6, time.UTC)
	jpeg  = []byte{0xFF, 0xD8, 0xFF, 0xE0, 'j', 'p', 'e', 'g', 1, 2, 3}
	png   = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 'p', 'n', 'g'}
	live1 = []byte{0xFF, 0xD8, 0xFF, 0xE1, 'l', 'i', 'v', 'e', '1'}
	live2 = []byte{0xFF, 0xD8, 0xFF, 0xE1, 'l', 'i', 'v', 'e', '2'}
)

// firstJobID is the first job id Submit generates from a seqReader.
const firstJobID = "abababababababababababababababab"

// refSign computes a signature independently of Signer.
func refSign(key, ts string) string { return smilefake.Sign(key, testPartner, ts) }

type testClock = clock.Fake

// seqReader makes job ids predictable: the first is firstJobID, later
// ones differ in their last byte.
type seqReader struct {
	mu sync.Mutex
	n  byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = 0xAB
	}
	if len(p) > 0 {
		p[len(p)-1] ^= r.n
	}
	r.n++
	return len(p), nil
}

// jobStatusReply is what the fake answers to one job-status call.
type jobStatusReply struct {
	Status int
	Body   any
}

// setJobStatus makes fn answer every job-status call.
func (h *harness) setJobStatus(fn func(req map[string]any) jobStatusReply) {
	h.f.SetJobStatus(func(req map[string]any) (int, any) {
		r := fn(req)
		return r.Status, r.Body
	})
}

// statusAnswer builds a signed job-status answer in the seed's shape for
// the job and user the request names.
func statusAnswer(ts string, complete, success bool, code string) func(req map[string]any) jobStatusReply {
	return func(req map[string]any) jobStatusReply {
		jobID, _ := req["job_id"].(string)
		userID, _ := req["user_id"].(string)
		return jobStatusReply{Status: 200, Body: statusBody(ts, refSign(testKey, ts), complete, success, code, jobID, userID, "2")}
	}
}

var statusBody = smilefake.StatusBody

// callbackJSON is a callback body in the seed's shape.
var callbackJSON = smilefake.Callback

// signedCallback is a fresh, correctly signed callback at the clock's now.
func signedCallback(clk *testClock, jobID, code string) []byte {
	ts := clk.Now().UTC().Format(TimestampLayout)
	return callbackJSON(ts, refSign(testKey, ts), jobID, testUser, code)
}

type harness struct {
	f       *smilefake.Server
	c       *Client
	clk     *testClock
	reports *reportLog
}

type reportLog struct {
	mu sync.Mutex
	rs []Report
}

func (l *reportLog) Observe(r Report) {
	l.mu.Lock()
	l.rs = append(l.rs, r)
	l.mu.Unlock()
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	f := smilefake.NewServer(t, testPartner, testKey, testCallback)
	clk := clock.New(t0)
	logs := &reportLog{}
	cfg := Config{
		PartnerID:   testPartner,
		APIKey:      testKey,
		BaseURL:     f.URL,
		CallbackURL: testCallback,
		HTTPClient:  f.Client(),
		Now:         clk.Now,
		Random:      &seqReader{},
		Observer:    logs,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{f: f, c: c, clk: clk, reports: logs}
}

func (h *harness) submit(t *testing.T) Submission {
	t.Helper()
	s, err := h.c.Submit(context.Background(), SubmitRequest{
		UserID: testUser, StateHandle: testState, Selfie: jpeg, Liveness: [][]byte{live1, live2},
	})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return s
}
