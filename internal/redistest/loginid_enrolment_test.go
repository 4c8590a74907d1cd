//go:build redis

package redistest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestLoginIDRecordsAcrossInstances: under `require_enrolment` with
// `store redis`, a LoginID record imported through one instance's admin
// API counts on the other (records live in the Caddy storage they
// share), and a token of a user without one is refused on both.
func TestLoginIDRecordsAcrossInstances(t *testing.T) {
	srv := redisproc.Start(t)
	kh := loginidfake.New(t, "client-123")
	global := fmt.Sprintf("\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n"+
		"\t\tloginid {\n\t\t\tmode pem\n\t\t\tkey_url %s/certs\n\t\t\tclient_id client-123\n\t\t\ttrust_pem %s\n\t\t\trequire_enrolment\n\t\t}", kh.URL, kh.CAFile)
	site := "\tlogin_guard /fido {\n\t\tname fido\n\t\tevent login\n\t\tassertion passwordless\n\t}"
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), global, site)
	post := func(i int, user, nonce string) int {
		form := url.Values{"username": {user}, "loginid_jwt": {kh.Mint(t, user, "fido2_login", nonce, time.Now())}}
		req, _ := http.NewRequest(http.MethodPost, f.procs[i].URL("site")+"/fido", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if st := post(i, "john.doe", fmt.Sprintf("before-%d", i)); st != http.StatusForbidden {
			t.Fatalf("instance %d, no record: %d", i, st)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+f.procs[0].AdminAddr+"/login_guard/passkeys/loginid", strings.NewReader(`{"user":"john.doe"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("import: %s %s", resp.Status, b)
	}
	for i := range 2 {
		if st := post(i, "john.doe", fmt.Sprintf("after-%d", i)); st != http.StatusSeeOther {
			t.Fatalf("instance %d, imported: %d", i, st)
		}
	}
	if !strings.Contains(f.admin(t, 1, http.MethodGet, "/login_guard/passkeys/loginid?user=john.doe"), `"via":"import"`) {
		t.Fatal("instance 1 does not list the record")
	}
}
