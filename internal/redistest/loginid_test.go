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

// TestLoginIDReplayAcrossInstances: a token accepted on one instance is a
// replay on the other, and of parallel uses on both only one passes.
func TestLoginIDReplayAcrossInstances(t *testing.T) {
	srv := redisproc.Start(t)
	kh := loginidfake.New(t, "client-123")
	global := fmt.Sprintf("\t\tloginid {\n\t\t\tmode pem\n\t\t\tkey_url %s/certs\n\t\t\tclient_id client-123\n\t\t\ttrust_pem %s\n\t\t}", kh.URL, kh.CAFile)
	site := "\tlogin_guard /fido {\n\t\tname fido\n\t\tevent login\n\t\tassertion required\n\t}"
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), global, site)
	post := func(i int, token string) int {
		form := url.Values{"username": {"john.doe"}, "password": {password}, "loginid_jwt": {token}}
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
	tok := kh.Mint(t, "john.doe", "fido2_login", "nonce-1", time.Now())
	if st := post(0, tok); st != http.StatusSeeOther {
		t.Fatalf("first use on instance 0: %d", st)
	}
	if st := post(1, tok); st != http.StatusForbidden {
		t.Fatalf("replay on instance 1: %d, want 403", st)
	}
	if n := f.portal.Count("/fido", "john.doe"); n != 1 {
		t.Fatalf("portal saw %d logins, want 1", n)
	}
	// Parallel uses of a fresh token on both instances: one passes.
	tok = kh.Mint(t, "john.doe", "fido2_login", "nonce-2", time.Now())
	res := make(chan int, 10)
	for i := range 10 {
		go func() { res <- post(i%2, tok) }()
	}
	passed := 0
	for range 10 {
		if <-res == http.StatusSeeOther {
			passed++
		}
	}
	if passed != 1 || f.portal.Count("/fido", "john.doe") != 2 {
		t.Fatalf("%d parallel uses passed (portal %d), want 1", passed, f.portal.Count("/fido", "john.doe"))
	}
	// Redis down: tokens are refused (fail closed), whatever the policy.
	srv.Stop()
	if st := post(0, kh.Mint(t, "john.doe", "fido2_login", "nonce-3", time.Now())); st == http.StatusSeeOther {
		t.Fatal("a token was accepted while its use could not be recorded")
	}
}
