package smilefake

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// UploadSecret stands for the presigned query of the upload URL the fake
// hands out: it must never appear in an error or a log.
const UploadSecret = "X-Amz-Signature=PRESIGNED-7f2c"

// timestampLayout is the seed's timestamp: RFC 3339 UTC with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// The exact key sets of the JSON requests.
var (
	uploadKeys = []string{"callback_url", "file_name", "model_parameters", "partner_id", "partner_params",
		"signature", "smile_client_id", "source_sdk", "source_sdk_version", "timestamp", "use_enrolled_image"}
	jobStatusKeys = []string{"history", "image_links", "job_id", "partner_id", "signature", "timestamp", "user_id"}
)

// Put is one upload of a job's zip, as received.
type Put struct {
	Header http.Header
	Body   []byte
	Info   map[string]any // the zip's info.json
}

// JobStatus is the table answer for one job: complete, success and the
// result code, signed at the time of the call.
type JobStatus struct {
	Complete, Success bool
	Code              string
}

// Server is Smile ID on TLS. Every request is checked against the format
// (method, headers, exact keys and types, the partner id, the signature,
// the callback URL, the zip holding one info.json); a request that breaks
// it, or goes to a path Smile ID does not have, fails the test.
type Server struct {
	*httptest.Server
	// CAFile holds the server's certificate in PEM, for a Caddyfile's
	// trust setting.
	CAFile string

	t                              testing.TB
	partnerID, apiKey, callbackURL string

	mu          sync.Mutex
	uploads     [][]byte
	jobs        []map[string]any
	puts        []Put
	statusCalls [][]byte
	uploadReply func(base string) (int, string)
	putStatus   int
	jobStatus   func(req map[string]any) (int, any)
	table       map[string]JobStatus
	hang        map[string]bool
	// release ends the hung requests when the test ends: Close waits
	// for every request in flight.
	release chan struct{}
}

// NewServer starts the fake for a partner, its API key and the callback
// URL every upload must name; it stops when the test ends. Uploads are
// accepted, zips stored, and job-status calls answered from the table
// SetStatus fills (404 for a job not in it).
func NewServer(t testing.TB, partnerID, apiKey, callbackURL string) *Server {
	s := &Server{t: t, partnerID: partnerID, apiKey: apiKey, callbackURL: callbackURL,
		putStatus: http.StatusOK, table: map[string]JobStatus{}, hang: map[string]bool{}, release: make(chan struct{})}
	s.uploadReply = func(base string) (int, string) {
		return http.StatusOK, fmt.Sprintf(`{"upload_url":%q,"ref_id":"%s-0000000194-abc","smile_job_id":"0000000194","camera_config":"null","code":"2202"}`,
			base+s.UploadPath()+"?"+UploadSecret, partnerID)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Handshakes cut short by Close at the end of a test are not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.release) }) // runs before Close
	s.CAFile = filepath.Join(t.TempDir(), "smile-ca.pem")
	if err := os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// UploadPath is the path of the upload URL the default upload answer
// hands out.
func (s *Server) UploadPath() string { return "/bucket/" + s.partnerID + "/selfie.zip" }

// SetUploadReply replaces the answer to upload requests; base is the
// server's URL.
func (s *Server) SetUploadReply(fn func(base string) (status int, body string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uploadReply = fn
}

// UploadReply is the current answer to an upload request.
func (s *Server) UploadReply() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploadReply(s.URL)
}

// SetPutStatus sets the status the zip upload is answered with.
func (s *Server) SetPutStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putStatus = status
}

// SetJobStatus makes fn answer every job-status call (status and a body
// encoded as JSON) instead of the table.
func (s *Server) SetJobStatus(fn func(req map[string]any) (status int, body any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobStatus = fn
}

// SetHang makes requests to path (/v1/upload, /v1/job_status or
// UploadPath()) hang, or stops that: a hung request is read, not
// recorded, and never answered; it ends when the client gives up or the
// test ends.
func (s *Server) SetHang(path string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[path] = on
}

// SetStatus puts a job's answer in the table.
func (s *Server) SetStatus(jobID string, st JobStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table[jobID] = st
}

// Counts returns how many uploads, zip PUTs and job-status calls arrived.
func (s *Server) Counts() (uploads, puts, statusCalls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uploads), len(s.puts), len(s.statusCalls)
}

// Uploads returns the body of every upload request.
func (s *Server) Uploads() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.uploads...)
}

// Job returns the partner_params of the i-th upload.
func (s *Server) Job(i int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[i]
}

// Puts returns every zip upload.
func (s *Server) Puts() []Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Put(nil), s.puts...)
}

// StatusCalls returns the body of every job-status call.
func (s *Server) StatusCalls() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.statusCalls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("smilefake: reading body: %v", err)
		return
	}
	s.mu.Lock()
	hang := s.hang[r.URL.Path]
	s.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		// No answer at all: a returning handler would send a 200 that net/http's
		// client may still hand a caller cancelling the request, as if answered.
		panic(http.ErrAbortHandler)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/v1/upload":
		s.upload(w, r, body)
	case s.UploadPath():
		s.put(w, r, body)
	case "/v1/job_status":
		s.status(w, r, body)
	default:
		s.t.Errorf("smilefake: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	req := s.jsonRequest(r, body, uploadKeys)
	pp, _ := req["partner_params"].(map[string]any)
	if k := sortedKeys(pp); !reflect.DeepEqual(k, []string{"job_id", "job_type", "user_id"}) || pp["job_type"] != float64(2) {
		s.t.Errorf("smilefake: partner_params %v", pp)
	}
	for _, k := range []string{"callback_url", "file_name", "partner_id", "signature", "smile_client_id", "source_sdk", "source_sdk_version", "timestamp"} {
		if _, ok := req[k].(string); !ok {
			s.t.Errorf("smilefake: upload %s is %T, want a string", k, req[k])
		}
	}
	if mp, ok := req["model_parameters"].(map[string]any); !ok || len(mp) != 0 {
		s.t.Errorf("smilefake: upload model_parameters %v, want {}", req["model_parameters"])
	}
	s.checkSigned(req, body)
	if req["smile_client_id"] != s.partnerID || req["callback_url"] != s.callbackURL || req["file_name"] != "selfie.zip" ||
		req["use_enrolled_image"] != false {
		s.t.Errorf("smilefake: upload body %s", body)
	}
	s.uploads = append(s.uploads, body)
	s.jobs = append(s.jobs, pp)
	status, reply := s.uploadReply(s.URL)
	if status >= 300 && status < 400 {
		// Following this would reach an unexpected path.
		w.Header().Set("Location", "/stray?"+UploadSecret)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, reply)
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPut || r.URL.RawQuery != UploadSecret || r.Header.Get("Content-Type") != "application/zip" {
		s.t.Errorf("smilefake: PUT %s %q %q", r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"))
	}
	p := Put{Header: r.Header.Clone(), Body: body}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "info.json" {
		s.t.Errorf("smilefake: zip %v", err)
	} else if rc, err := zr.File[0].Open(); err != nil {
		s.t.Errorf("smilefake: zip info.json: %v", err)
	} else {
		if err := json.NewDecoder(rc).Decode(&p.Info); err != nil {
			s.t.Errorf("smilefake: zip info.json: %v", err)
		}
		rc.Close()
	}
	s.puts = append(s.puts, p)
	w.WriteHeader(s.putStatus)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, body []byte) {
	req := s.jsonRequest(r, body, jobStatusKeys)
	s.checkSigned(req, body)
	if req["history"] != false || req["image_links"] != false {
		s.t.Errorf("smilefake: job_status body %s", body)
	}
	s.statusCalls = append(s.statusCalls, body)
	w.Header().Set("Content-Type", "application/json")
	if s.jobStatus != nil {
		status, reply := s.jobStatus(req)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(reply)
		return
	}
	job, _ := req["job_id"].(string)
	st, ok := s.table[job]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	ts := time.Now().UTC().Format(timestampLayout)
	user, _ := req["user_id"].(string)
	json.NewEncoder(w).Encode(StatusBody(ts, Sign(s.apiKey, s.partnerID, ts), st.Complete, st.Success, st.Code, job, user, "2"))
}

// checkSigned checks a request's partner id and signature of its
// timestamp.
func (s *Server) checkSigned(req map[string]any, body []byte) {
	ts, _ := req["timestamp"].(string)
	if _, err := time.Parse(timestampLayout, ts); err != nil {
		s.t.Errorf("smilefake: timestamp %q is not %s", ts, timestampLayout)
	}
	if req["partner_id"] != s.partnerID || req["signature"] != Sign(s.apiKey, s.partnerID, ts) {
		s.t.Errorf("smilefake: partner or signature in %s", body)
	}
}

// jsonRequest checks a JSON POST's headers, query and exact key set.
func (s *Server) jsonRequest(r *http.Request, body []byte, keys []string) map[string]any {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
		s.t.Errorf("smilefake: %s %s %v", r.Method, r.URL.Path, r.Header)
	}
	if r.URL.RawQuery != "" {
		s.t.Errorf("smilefake: %s: unexpected query %q", r.URL.Path, r.URL.RawQuery)
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		s.t.Errorf("smilefake: %s body is not JSON", r.URL.Path)
	}
	if k := sortedKeys(req); !reflect.DeepEqual(k, keys) {
		s.t.Errorf("smilefake: %s keys %v, want %v", r.URL.Path, k, keys)
	}
	if strings.Contains(string(body), s.apiKey) {
		s.t.Errorf("smilefake: the API key itself was sent")
	}
	return req
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
