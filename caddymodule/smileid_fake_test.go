package caddymodule_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
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

	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

const (
	smilePartner = "172"
	smileKey     = "SMILE-KEY-never-leaves-6d1e"
	// smileUploadSecret stands for the presigned query of an upload URL.
	smileUploadSecret = "X-Amz-Signature=PRESIGNED-7f"
)

// smileSign is Smile ID's signature, computed independently of the client.
func smileSign(ts string) string { return smilefake.Sign(smileKey, smilePartner, ts) }

// smileJobStatus is what the fake answers for a job: complete, success and
// the result code.
type smileJobStatus struct {
	complete, success bool
	code              string
}

// fakeSmileID is Smile ID on TLS: it checks every request against the
// wire format clients/smileid documents, records the jobs and answers
// job-status calls from a table the test sets.
type fakeSmileID struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu          sync.Mutex
	jobs        []map[string]any // partner_params of each upload
	zips        []map[string]any // info.json of each PUT
	statusCalls int
	status      map[string]smileJobStatus
}

func newFakeSmileID(t *testing.T) *fakeSmileID {
	f := &fakeSmileID{t: t, status: map[string]smileJobStatus{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "smile-ca.pem")
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeSmileID) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/upload":
		req := f.jsonRequest(r, body, []string{"callback_url", "file_name", "model_parameters", "partner_id", "partner_params",
			"signature", "smile_client_id", "source_sdk", "source_sdk_version", "timestamp", "use_enrolled_image"})
		pp, _ := req["partner_params"].(map[string]any)
		if k := sortedKeys(pp); !reflect.DeepEqual(k, []string{"job_id", "job_type", "user_id"}) || pp["job_type"] != float64(2) {
			f.t.Errorf("smile: partner_params %v", pp)
		}
		ts, _ := req["timestamp"].(string)
		if req["signature"] != smileSign(ts) || req["partner_id"] != smilePartner || req["smile_client_id"] != smilePartner ||
			req["callback_url"] != "https://guard.example/verify/smileid/callback" || req["file_name"] != "selfie.zip" || req["use_enrolled_image"] != false {
			f.t.Errorf("smile: upload body %s", body)
		}
		f.jobs = append(f.jobs, pp)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"upload_url":%q,"ref_id":"ref","smile_job_id":"0000000194","camera_config":"null","code":"2202"}`,
			f.srv.URL+"/bucket/selfie.zip?"+smileUploadSecret)
	case r.URL.Path == "/bucket/selfie.zip":
		if r.Method != http.MethodPut || r.URL.RawQuery != smileUploadSecret || r.Header.Get("Content-Type") != "application/zip" {
			f.t.Errorf("smile: PUT %s %q %q", r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"))
		}
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil || len(zr.File) != 1 || zr.File[0].Name != "info.json" {
			f.t.Errorf("smile: zip %v", err)
			return
		}
		rc, _ := zr.File[0].Open()
		var info map[string]any
		json.NewDecoder(rc).Decode(&info)
		rc.Close()
		f.zips = append(f.zips, info)
	case r.URL.Path == "/v1/job_status":
		req := f.jsonRequest(r, body, []string{"history", "image_links", "job_id", "partner_id", "signature", "timestamp", "user_id"})
		f.statusCalls++
		job, _ := req["job_id"].(string)
		st, ok := f.status[job]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		json.NewEncoder(w).Encode(map[string]any{
			"timestamp": ts, "signature": smileSign(ts), "job_complete": st.complete, "job_success": st.success, "code": "2302",
			"result": map[string]any{
				"ResultCode": st.code, "ResultText": "text for " + st.code, "SmileJobID": "0000000194",
				"PartnerParams": map[string]any{"job_id": job, "user_id": req["user_id"], "job_type": "2"},
			},
		})
	default:
		f.t.Errorf("smile: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

// jsonRequest checks a signed JSON POST's headers and exact key set.
func (f *fakeSmileID) jsonRequest(r *http.Request, body []byte, keys []string) map[string]any {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
		f.t.Errorf("smile: %s %s %v", r.Method, r.URL.Path, r.Header)
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("smile: %s body is not JSON", r.URL.Path)
	}
	if k := sortedKeys(req); !reflect.DeepEqual(k, keys) {
		f.t.Errorf("smile: %s keys %v, want %v", r.URL.Path, k, keys)
	}
	if strings.Contains(string(body), smileKey) {
		f.t.Errorf("smile: the API key itself was sent")
	}
	return req
}

func (f *fakeSmileID) setStatus(job string, st smileJobStatus) {
	f.mu.Lock()
	f.status[job] = st
	f.mu.Unlock()
}

func (f *fakeSmileID) calls() (jobs, puts, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs), len(f.zips), f.statusCalls
}

func (f *fakeSmileID) job(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jobs[i]
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// smileCallback is a callback in the seed's shape.
func smileCallback(ts, sig, jobID, userID, code string) string {
	return string(smilefake.Callback(ts, sig, jobID, userID, code))
}

// testJPEG is a camera-sized JPEG, base64 encoded as the page sends it.
func testJPEG(t *testing.T, shade uint8) string {
	img := image.NewGray(image.Rect(0, 0, 96, 128))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
