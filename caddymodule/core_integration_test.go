package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/portalfake"
	"github.com/login-guard/login_guard/internal/testkit/smartidfake"
)

const password = "Pa55-never-leaves-9f3c"

// portalFake is a fresh portal behind the guard (internal/testkit/portalfake):
// 303 to /account with a session cookie for the right password, 303 back
// to the form otherwise.
func portalFake() func(w http.ResponseWriter, r *http.Request, body []byte) {
	return portalfake.Handler(password).Respond
}

// smartidLicense is the license smartidGlobal configures.
const smartidLicense = "TEST-LICENSE-abc"

// smartIDServer is SmartID for the in-process tests: the recorder keeps
// every request for the test to read, and each one is checked against the
// reference's format (internal/testkit/smartidfake) as it arrives; one
// that does not match is answered 400 and fails the test.
func smartIDServer(t *testing.T) *caddytest.Recorder {
	return smartIDAnswering(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
}

// smartIDAnswering is smartIDServer with answer for the requests that
// pass the check.
func smartIDAnswering(t *testing.T, answer func(http.ResponseWriter)) *caddytest.Recorder {
	var mu sync.Mutex
	var bad []string
	rec := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if _, err := smartidfake.Check(r.Method, r.URL.Path, r.Header, body, smartidLicense); err != nil {
			mu.Lock()
			bad = append(bad, err.Error())
			mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		answer(w)
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bad {
			t.Errorf("SmartID got a request out of format: %s", b)
		}
	})
	return rec
}

func smartidGlobal(endpoint string) string {
	return fmt.Sprintf(`	login_guard {
		smartid {
			endpoint %s
			license  %s
			channel  1
			workers  1
		}
	}`, endpoint, smartidLicense)
}

const coreSite = `{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		success {
			status 303
			location /account
		}
		session_cookie portal_session
		deny_ip 203.0.113.0/24
	}
	@logout {
		method POST
		path /api/logout
	}
	login_guard @logout {
		event logout
	}
	@transfer {
		method POST
		path /api/transfer
	}
	login_guard @transfer {
		event operation
		operation {
			transaction.category transfer
			order.amount {login_guard.field.amount}
			order.currency USD
			accountTo.accountNumber {login_guard.field.to}
			transaction.details.note {login_guard.field.password}
			account.client {login_guard.field.as}
			account.session {http.request.header.X-Session}
		}
	}
	reverse_proxy %s
}`

// jsonKeys decodes a SmartID body and checks its exact key set.
func jsonBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("SmartID got non-JSON: %s", b)
	}
	return m
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func checkSmartIDRequest(t *testing.T, r caddytest.Received, path string) map[string]any {
	t.Helper()
	if r.Path != path {
		t.Fatalf("SmartID got %s %s, want POST %s", r.Method, r.Path, path)
	}
	ev, err := smartidfake.Check(r.Method, r.Path, r.Header, r.Body, smartidLicense)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(r.Body), password) {
		t.Fatal("the password reached SmartID")
	}
	return ev.Body
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLoginLogoutOperationReachSmartIDAndUpstreamIntact(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	sid := smartIDServer(t)
	g := caddytest.Start(t, smartidGlobal(sid.URL), fmt.Sprintf(coreSite, upstream.Listener.Addr()))

	form := "username=jlopez&password=" + password + "&smartid_data=ujOmfzNv5l%2F1SW%2BclQ%3D%3D"
	resp, _ := g.Post(t, "/api/login", "application/x-www-form-urlencoded", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The upstream saw exactly what the browser sent.
	up := upstream.All()
	if len(up) != 1 || string(up[0].Body) != form || up[0].ContentLength != int64(len(form)) {
		t.Fatalf("upstream got %+v", up)
	}
	if up[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("upstream content type %q", up[0].Header.Get("Content-Type"))
	}
	guard := cookieNamed(resp, "login_guard")
	if guard == nil || !guard.HttpOnly || cookieNamed(resp, "portal_session") == nil {
		t.Fatalf("cookies: %v", resp.Cookies())
	}

	login := checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/login")
	if got, want := keys(login), []string{"channelId", "data", "publicIp", "session", "user"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("login keys %v, want %v", got, want)
	}
	if login["channelId"] != float64(1) || login["user"] != "jlopez" || login["publicIp"] != "127.0.0.1" || login["data"] != "ujOmfzNv5l/1SW+clQ==" {
		t.Fatalf("login body %v", login)
	}
	session, _ := login["session"].(string)
	if session == "" || strings.Contains(session, "APPSESSION") {
		t.Fatalf("session must be an HMAC of the app cookie, got %q", session)
	}

	// An operation is tied to the login by account.client and account.session.
	// A mapping of account.client or account.session (here to a body
	// field and a header the client writes) does not override the
	// session's: the operation is filed under the signed-in user's login.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/transfer", strings.NewReader("amount=12.50&to=GT99&as=mallory&password="+password))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Session", "mallorys-session")
	req.AddCookie(guard)
	resp, _ = g.Do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("transfer status %d", resp.StatusCode)
	}
	op := checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/operation")
	account := op["account"].(map[string]any)
	order := op["order"].(map[string]any)
	if account["client"] != "jlopez" || account["session"] != session || order["amount"] != 12.5 || order["currency"] != "USD" {
		t.Fatalf("operation body %v", op)
	}
	if _, ok := op["timestamp"].(string); !ok {
		t.Fatalf("operation needs a timestamp: %v", op)
	}
	details := op["transaction"].(map[string]any)["details"].(map[string]any)
	if details["note"] != "" && details["note"] != nil {
		t.Fatalf("a password field must not be mappable: %v", details)
	}

	// Logout carries the same user and session.
	resp, _ = g.Post(t, "/api/logout", "", "", guard)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout status %d", resp.StatusCode)
	}
	logout := checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/logout")
	if logout["user"] != "jlopez" || logout["session"] != session || logout["channelId"] != float64(1) {
		t.Fatalf("logout body %v", logout)
	}
	if _, has := logout["data"]; has {
		t.Fatalf("logout without a payload must omit data: %v", logout)
	}
	if c := cookieNamed(resp, "login_guard"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout must clear the guard cookie: %v", resp.Cookies())
	}

	// The logout ended the guard session: its cookie, replayed, is no
	// session any more (no second logout event, no session on an
	// operation).
	resp, _ = g.Post(t, "/api/logout", "", "", guard)
	if resp.StatusCode != http.StatusOK || lastAudit(t, g)["smartid"] != "skipped_no_session" {
		t.Fatalf("replayed logout: %d %v", resp.StatusCode, lastAudit(t, g))
	}
	resp, _ = g.Post(t, "/api/transfer", "application/x-www-form-urlencoded", "amount=1&to=GT99", guard)
	op = checkSmartIDRequest(t, sid.Next(t), "/api/v5/analytics/web/operation")
	if acct, _ := op["account"].(map[string]any); resp.StatusCode != http.StatusOK || (acct != nil && acct["session"] == session) {
		t.Fatalf("an operation with the logged-out cookie still carries its session: %v", op)
	}

	if strings.Contains(g.RawLogs(t), password) {
		t.Fatal("the password appears in the logs")
	}
	if strings.Contains(g.RawLogs(t), "ujOmfzNv5l") {
		t.Fatal("the device payload appears in the logs")
	}
}
