//go:build redis

package redistest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/internal/testkit/smilefake"
)

const (
	smilePartner = "172"
	smileKey     = "SMILE-KEY-fleet-3c1f"
)

// selfieGlobal is the smileid block for a fake Smile ID at f.
func selfieGlobal(f *smilefake.Server) string {
	return fmt.Sprintf(`		sandbox
		smileid {
			partner_id   %s
			api_key      %s
			callback_url https://guard.example/verify/smileid/callback
			base_url     %s
			trust_pem    %s
		}`, smilePartner, smileKey, f.URL, f.CAFile)
}

var selfieSite = strings.Replace(stepUpSite, "methods passkey", "methods selfie", 1)

// fleetJPEG is a camera-sized JPEG, base64 encoded as the page sends it.
func fleetJPEG(t *testing.T, shade uint8) string {
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

// TestSmileIDCallbackThroughARedisOutage: a callback Smile ID sends while
// the shared store of pending jobs hangs is answered 503 (reason
// smileid_callback_store_unavailable), so Smile ID retries it, where it
// was refused for good as a callback for an unknown job (400) and its
// result waited for the page's own job-status call; the retry once Redis
// answers completes the step-up.
func TestSmileIDCallbackThroughARedisOutage(t *testing.T) {
	srv := redisproc.Start(t)
	smile := smilefake.NewServer(t, smilePartner, smileKey, "https://guard.example/verify/smileid/callback")
	f := startFleet(t, 1, "\t\t\taddress "+srv.Addr()+"\n\t\t\ttimeout 300ms", selfieGlobal(smile), selfieSite)
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	page := map[string]string{"Content-Type": "application/json", "X-Login-Guard": "1"}

	if resp := b.do(0, "POST", "/api/login", challengedForm, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("challenge: %d", resp.StatusCode)
	}
	up, _ := json.Marshal(map[string]any{"selfie": fleetJPEG(t, 10), "liveness": []string{fleetJPEG(t, 40), fleetJPEG(t, 80)}})
	if resp := b.do(0, "POST", "/verify/selfie/submit", string(up), page); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	job, _ := smile.Job(0)["job_id"].(string)
	smile.SetStatus(job, smilefake.JobStatus{Complete: true, Success: true, Code: "1220"})
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	callback := string(smilefake.Callback(ts, smilefake.Sign(smileKey, smilePartner, ts), job, "sandbox-challenge", "1220"))
	smileID := map[string]string{"Content-Type": "application/json"}

	srv.Pause()
	resp := b.do(0, "POST", "/verify/smileid/callback", callback, smileID)
	srv.Resume()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("callback while Redis hangs: %d, want 503 (Smile ID retries)", resp.StatusCode)
	}
	if err := f.procs[0].WaitLog(hasReason("smileid_callback_store_unavailable"), 5*time.Second); err != nil {
		t.Fatalf("no audit line with smileid_callback_store_unavailable: %v\n%s", err, f.procs[0].Log())
	}
	if _, _, calls := smile.Counts(); calls != 0 {
		t.Fatalf("%d job-status calls while the job could not be read", calls)
	}

	// Smile ID's retry once Redis answers: confirmed, and the page's
	// next poll completes the factor.
	waitForRedis(t, f)
	if resp := b.do(0, "POST", "/verify/smileid/callback", callback, smileID); resp.StatusCode != http.StatusOK {
		t.Fatalf("Smile ID's retry: %d", resp.StatusCode)
	}
	if resp := b.do(0, "POST", "/verify/selfie/status", "{}", page); resp.StatusCode != http.StatusOK || b.cookie("login_guard_factor") == "" {
		t.Fatalf("poll after the retry: %d, factor cookie %q", resp.StatusCode, b.cookie("login_guard_factor"))
	}
}
