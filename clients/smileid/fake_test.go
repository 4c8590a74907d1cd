package smileid

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
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
	uploadSecret = "X-Amz-Signature=PRESIGNEDSECRET"
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

// fakeSmile is a Smile ID stand-in on TLS that records every request.
type fakeSmile struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	uploads     [][]byte
	puts        [][]byte
	putHeaders  []http.Header
	statusCalls [][]byte
	strayHits   int

	uploadReply func(base string) (int, string)
	putStatus   int
	jobStatus   func(req map[string]any) jobStatusReply
}

func newFake(t *testing.T) *fakeSmile {
	f := &fakeSmile{t: t, putStatus: http.StatusOK}
	f.uploadReply = func(base string) (int, string) {
		return 200, fmt.Sprintf(`{"upload_url":%q,"ref_id":"172-0000000194-abc","smile_job_id":"0000000194","camera_config":"null","code":"2202"}`,
			base+"/bucket/172/selfie.zip?"+uploadSecret)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Handshakes cut short by Close at the end of a test are not news.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.strayHits != 0 {
			t.Errorf("fake: %d requests to unexpected paths", f.strayHits)
		}
	})
	return f
}

func (f *fakeSmile) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake: reading body: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/upload":
		f.expectJSONRequest(r)
		f.uploads = append(f.uploads, body)
		status, reply := f.uploadReply(f.srv.URL)
		if status >= 300 && status < 400 {
			// Following this would hit the stray counter.
			w.Header().Set("Location", "/stray?"+uploadSecret)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, reply)
	case r.URL.Path == "/bucket/172/selfie.zip":
		if r.Method != http.MethodPut {
			f.t.Errorf("fake: upload URL: method %s, want PUT", r.Method)
		}
		if r.URL.RawQuery != uploadSecret {
			f.t.Errorf("fake: upload URL query %q, want the presigned one", r.URL.RawQuery)
		}
		f.puts = append(f.puts, body)
		f.putHeaders = append(f.putHeaders, r.Header.Clone())
		w.WriteHeader(f.putStatus)
	case r.URL.Path == "/v1/job_status":
		f.expectJSONRequest(r)
		f.statusCalls = append(f.statusCalls, body)
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			f.t.Errorf("fake: job_status body is not JSON: %v", err)
		}
		reply := jobStatusReply{Status: 500, Body: map[string]any{"error": "no script"}}
		if f.jobStatus != nil {
			reply = f.jobStatus(req)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		json.NewEncoder(w).Encode(reply.Body)
	default:
		f.strayHits++
		http.NotFound(w, r)
	}
}

func (f *fakeSmile) expectJSONRequest(r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("fake: %s: method %s, want POST", r.URL.Path, r.Method)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		f.t.Errorf("fake: %s: Content-Type %q", r.URL.Path, got)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		f.t.Errorf("fake: %s: Accept %q", r.URL.Path, got)
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("fake: %s: unexpected query %q", r.URL.Path, r.URL.RawQuery)
	}
}

func (f *fakeSmile) counts() (uploads, puts, statusCalls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.uploads), len(f.puts), len(f.statusCalls)
}

func (f *fakeSmile) setJobStatus(fn func(req map[string]any) jobStatusReply) {
	f.mu.Lock()
	f.jobStatus = fn
	f.mu.Unlock()
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

func statusBody(ts, sig string, complete, success bool, code, jobID, userID, jobType string) map[string]any {
	return map[string]any{
		"timestamp":    ts,
		"signature":    sig,
		"job_complete": complete,
		"job_success":  success,
		"code":         "2302",
		"result": map[string]any{
			"Source":          "WebAPI",
			"Actions":         map[string]any{"Liveness_Check": "Passed", "Selfie_To_Registered_Selfie_Compare": "Completed"},
			"ResultCode":      code,
			"ResultText":      "text for " + code,
			"SmileJobID":      "0000000194",
			"PartnerParams":   map[string]any{"job_id": jobID, "user_id": userID, "job_type": jobType},
			"ConfidenceValue": "99",
		},
		"success":      true,
		"smile_job_id": "0000000194",
	}
}

// callbackJSON is a callback body in the seed's shape.
var callbackJSON = smilefake.Callback

// signedCallback is a fresh, correctly signed callback at the clock's now.
func signedCallback(clk *testClock, jobID, code string) []byte {
	ts := clk.Now().UTC().Format(TimestampLayout)
	return callbackJSON(ts, refSign(testKey, ts), jobID, testUser, code)
}

type harness struct {
	f       *fakeSmile
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
	f := newFake(t)
	clk := clock.New(t0)
	logs := &reportLog{}
	cfg := Config{
		PartnerID:   testPartner,
		APIKey:      testKey,
		BaseURL:     f.srv.URL,
		CallbackURL: testCallback,
		HTTPClient:  f.srv.Client(),
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
