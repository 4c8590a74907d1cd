package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestForgedSmileIDCallbacksAreNotWarnings: the callback endpoint takes
// requests from anyone, so a callback refused before its signature
// verifies (too large, not JSON, fields missing, a timestamp unreadable,
// a signature that does not verify, whatever its timestamp) is in its
// audit line only: no warning in the app's log, where one line per forged
// request would let anyone bury Smile ID's real failures. A callback that
// carries a valid signature and is refused all the same (stale, or for a
// job the guard never submitted) still warns: only the API key makes one.
func TestForgedSmileIDCallbacksAreNotWarnings(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	smile := newFakeSmileID(t)
	g := caddytest.Start(t, selfieGlobal(smile, ""), fmt.Sprintf(selfieSite, upstream.Listener.Addr()))
	c := newStepClient(t, g, "198.51.100.35")
	const job = "0123456789abcdef0123456789abcdef"
	fresh, stale := smileNow(0), smileNow(-10*time.Minute)
	for _, tc := range []struct {
		name, body string
		status     int
		reason     string
	}{
		{"too large", `{"timestamp":"` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, "smileid_callback_too_large"},
		{"not JSON", "1220", http.StatusBadRequest, "smileid_callback_malformed"},
		{"fields missing", `{"ResultCode":"1220"}`, http.StatusBadRequest, "smileid_callback_malformed"},
		{"bad timestamp", smileCallback("yesterday", smileSign("yesterday"), job, "sandbox-challenge", "1220"), http.StatusBadRequest, "smileid_callback_bad_timestamp"},
		// The signature is checked before the window: only the key
		// makes a callback "stale".
		{"stale, not signed", smileCallback(stale, "AAAA", job, "sandbox-challenge", "1220"), http.StatusBadRequest, "smileid_callback_bad_signature"},
		{"bad signature", smileCallback(fresh, smileSign(fresh+"x"), job, "sandbox-challenge", "1220"), http.StatusBadRequest, "smileid_callback_bad_signature"},
	} {
		for i := 0; i < 3; i++ {
			resp, _ := c.do("POST", "/verify/smileid/callback", "application/json", tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
			}
		}
		if !hasReason(allAuditReasons(t, g), tc.reason) {
			t.Errorf("%s: no audit line with %s", tc.name, tc.reason)
		}
	}
	warnings := func() []map[string]any {
		var out []map[string]any
		for _, l := range g.Logs(t) {
			if l["level"] != "debug" && l["level"] != "info" && l["logger"] == "login_guard.smileid" {
				out = append(out, l)
			}
		}
		return out
	}
	if w := warnings(); len(w) != 0 {
		t.Fatalf("forged callbacks were logged as warnings: %v", w)
	}

	// Signed callbacks: a stale one (a clock off, say) and one for a job
	// the guard never submitted.
	for _, body := range []string{
		smileCallback(stale, smileSign(stale), job, "sandbox-challenge", "1220"),
		smileCallback(fresh, smileSign(fresh), job, "sandbox-challenge", "1220"),
	} {
		if resp, _ := c.do("POST", "/verify/smileid/callback", "application/json", body, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("signed callback refused: %d", resp.StatusCode)
		}
	}
	w := warnings()
	if len(w) != 2 || w[0]["op"] != "callback" || !strings.Contains(fmt.Sprint(w[0]["error"]), "freshness window") ||
		w[1]["op"] != "callback" || !strings.Contains(fmt.Sprint(w[1]["error"]), "not registered") {
		t.Fatalf("signed callbacks refused: warnings %v, want the stale one and the unknown job", w)
	}
	if !hasReason(allAuditReasons(t, g), "smileid_callback_stale") {
		t.Error("no audit line with smileid_callback_stale")
	}
}
