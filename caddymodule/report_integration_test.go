package caddymodule_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/forterfake"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// checkAuthResult checks one authentication-result request byte for byte
// against clients/forter's documented format.
func checkAuthResult(t *testing.T, r forterfake.Request, outcome, method string) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/v2/accounts/authentication-result/acct-42" {
		t.Fatalf("auth result %s %s", r.Method, r.Path)
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("FORTER-KEY-secret:")); r.Header.Get("Authorization") != want ||
		r.Header.Get("x-forter-siteid") != "abc123" || r.Header.Get("api-version") == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("auth result headers %v", r.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("auth result body %q", r.Body)
	}
	if k := keys(body); !reflect.DeepEqual(k, []string{"accountId", "additionalAuthenticationMethod", "channelType", "eventTime"}) {
		t.Fatalf("auth result keys %v", k)
	}
	am, _ := body["additionalAuthenticationMethod"].(map[string]any)
	vm, _ := am["verificationMethod"].(map[string]any)
	if body["accountId"] != "acct-42" || body["channelType"] != "WEB" || am["correlationId"] != "CORR-7731" ||
		am["verificationOutcome"] != outcome || vm["type"] != method || len(am) != 3 || len(vm) != 1 {
		t.Fatalf("auth result body %s", r.Body)
	}
	if _, ok := body["eventTime"].(float64); !ok {
		t.Fatalf("eventTime %v", body["eventTime"])
	}
	if strings.Contains(string(r.Body), password) || strings.Contains(string(r.Body), "john.doe") {
		t.Fatalf("the auth result carries the password or user name: %s", r.Body)
	}
}

// TestLoginIDStepUpReportsToForter: Forter asks for verification after the
// portal accepted the password; the user proves it with a LoginID token
// in the step-up. A token for another user is refused (and reported as a
// failure); a valid one completes, the held answer is released and Forter
// hears SUCCESS with the correlation id and the method.
func TestLoginIDStepUpReportsToForter(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		http.SetCookie(w, &http.Cookie{Name: "portal_session", Value: "APP-SESSION"})
		w.Header().Set("X-Account-Id", "acct-42")
		io.WriteString(w, "welcome")
	})
	forter := forterfake.New(t, "abc123", "FORTER-KEY-secret")
	forter.AlwaysVerify("CORR-7731", "acct-42")
	kh := loginidfake.New(t, "client-123")
	global := fmt.Sprintf(`	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		forter {
			site_id  abc123
			api_key  FORTER-KEY-secret
			endpoint %s
		}
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s
		}
	}`, forter.URL, kh.URL, kh.CAFile)
	site := fmt.Sprintf(`{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines forter
		evaluate after_upstream
		account_id {http.reverse_proxy.header.X-Account-Id}
		step_up /verify
		success {
			cookie portal_session
		}
	}
	handle /verify* {
		login_guard {
			event step_up
			methods loginid
		}
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)
	c := newStepClient(t, g, "0.0.0.4")

	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=john.doe&password="+password, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" || cookieNamed(resp, "portal_session") != nil {
		t.Fatalf("challenge after upstream: %d %v", resp.StatusCode, resp.Cookies())
	}
	if r := forter.Next(t); !strings.HasPrefix(r.Path, "/v2/accounts/login/") {
		t.Fatalf("forter first got %s", r.Path)
	}
	resp, body := c.do("GET", "/verify", "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-methods="loginid"`) || !strings.Contains(body, `data-user="john.doe"`) ||
		!strings.Contains(body, `id="login-guard-loginid"`) {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}

	finish := func(token string) int {
		b, _ := json.Marshal(map[string]string{"jwt": token})
		resp, _ := c.do("POST", "/verify/loginid/finish", "application/json", string(b), jsonHeader)
		return resp.StatusCode
	}
	now := time.Now()
	if got := finish(kh.Mint(t, "jane.roe", "fido2_login", "s-1", now)); got != http.StatusForbidden || c.cookie("login_guard_factor") != "" {
		t.Fatalf("wrong-user token: %d", got)
	}
	checkAuthResult(t, forter.Next(t), "FAILURE", "loginid")
	if got := finish(kh.Mint(t, "John.Doe", "fido2_login", "s-2", now)); got != http.StatusForbidden {
		t.Fatalf("case-different user: %d", got)
	}
	checkAuthResult(t, forter.Next(t), "FAILURE", "loginid")

	if got := finish(kh.Mint(t, "john.doe", "fido2_login", "s-3", now)); got != http.StatusOK || c.cookie("login_guard_factor") == "" {
		t.Fatalf("valid token: %d", got)
	}
	resp, _ = c.do("POST", "/verify/complete", "application/x-www-form-urlencoded", "", map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	checkAuthResult(t, forter.Next(t), "SUCCESS", "loginid")
	resp, body = c.do("POST", "/api/login", "application/x-www-form-urlencoded", "", nil)
	if resp.StatusCode != 200 || body != "welcome" || cookieNamed(resp, "portal_session") == nil {
		t.Fatalf("released answer: %d %q", resp.StatusCode, body)
	}
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("the portal was asked %d times", n)
	}
	if n := len(forter.All()); n != 4 {
		t.Fatalf("forter got %d requests, want login + 3 results", n)
	}
	if strings.Contains(g.RawLogs(t), "FORTER-KEY-secret") {
		t.Fatal("the Forter key appears in the logs")
	}
}
