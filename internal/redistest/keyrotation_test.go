//go:build redis

package redistest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/internal/tokens"
)

// ageKeys makes the key material in the fleet's shared storage look
// created age ago, as a week-old key set looks when its rotation falls
// due: the running instances keep the keys they read, and the next one
// to read them (a start, a reload, its key check) rotates.
func ageKeys(t *testing.T, storage string, age time.Duration) {
	t.Helper()
	file := filepath.Join(storage, "login_guard", "keys.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tokens.ParseStored(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Keys {
		st.Keys[i].Created = st.Keys[i].Created.Add(-age)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func storedKeys(t *testing.T, storage string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(storage, "login_guard", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := tokens.ParseStored(raw)
	if err != nil {
		t.Fatal(err)
	}
	return len(st.Keys)
}

// TestKeyRotationAcrossInstances: one instance restarts when the keys
// are due for rotation and seals with the new key at once; the other,
// still serving with the keys it read before, must open what the first
// sealed (a step-up state, its continuation, a guard session) rather
// than refuse it as sealed by an unknown key until its own hourly key
// check.
func TestKeyRotationAcrossInstances(t *testing.T) {
	srv := redisproc.Start(t)
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), stepUpGlobal, stepUpSite+"\n"+logoutSite)
	ageKeys(t, f.storage, 8*24*time.Hour)
	if err := f.procs[0].Restart(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := storedKeys(t, f.storage); n != 2 {
		t.Fatalf("the restart did not rotate: %d keys stored, want the new one and the old", n)
	}

	// A step-up begun on the instance that rotated, completed on the
	// other, continued on the first.
	b := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	resp := b.do(0, "POST", "/api/login", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || b.cookie("login_guard_stepup") == "" {
		t.Fatalf("challenge on instance 0: %d", resp.StatusCode)
	}
	b.passFactor()
	same := map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}
	resp = b.do(1, "POST", "/verify/complete", "", same)
	if resp.StatusCode != http.StatusTemporaryRedirect || b.cookie("login_guard_continue") == "" {
		t.Fatalf("completion on instance 1 of a step-up sealed by instance 0 after its rotation: %d, want 307", resp.StatusCode)
	}
	resp = b.do(0, "POST", "/api/login", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("continuation on instance 0: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := f.portal.Count("/api/login", "sandbox-challenge"); n != 1 {
		t.Fatalf("portal saw %d logins, want 1", n)
	}

	// A guard session sealed by instance 0 after its rotation is a
	// session on instance 1: its logout there is reported as one.
	b2 := &browser{t: t, f: f, jar: map[string]*http.Cookie{}}
	b2.signIn(0, "rotated")
	if resp := b2.do(1, "POST", "/api/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on instance 1: %d", resp.StatusCode)
	}
	var got []string
	if err := f.procs[1].WaitLog(func(map[string]any) bool {
		got = logouts(f.procs[1].LogLines())
		return len(got) >= 1
	}, 5*time.Second); err != nil {
		t.Fatalf("no audit line for the logout on instance 1: %v", err)
	}
	if got[0] != "not_configured" {
		t.Fatalf("a session sealed by instance 0 after its rotation, logged out on instance 1: smartid %q, want the session (not_configured)", got[0])
	}
}
