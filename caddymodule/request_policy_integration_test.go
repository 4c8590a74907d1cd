package caddymodule_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/upstreamsig"
)

const policySecret = "portal-shared-secret-123"

const policySite = `{{listen}} {
	login_guard /login {
		name login
		event login
		upstream_headers ` + policySecret + `
		when "\"x-client\" in headers && headers[\"x-client\"] == \"legacy\"" deny legacy_client
	}
	login_guard /idfirst {
		name idfirst
		event login
		missing_user allow
	}
	login_guard /watch {
		name watch
		event login
		missing_user monitor
	}
	login_guard /transfer {
		event operation
		operation {
			order.amount {login_guard.field.amount}
			account.clientRefId {login_guard.field.ref}
		}
	}
	login_guard /transfer-lax {
		event operation
		on_invalid_operation pass
		operation {
			order.amount {login_guard.field.amount}
		}
	}
	login_guard /after {
		name after
		event login
		engines scoring
		evaluate after_upstream
		upstream_headers ` + policySecret + `
		success {
			cookie portal_session
		}
	}
	reverse_proxy %s
}`

func startPolicySite(t *testing.T) (*caddytest.Guarded, *caddytest.Recorder) {
	t.Helper()
	upstream := caddytest.NewRecorder(t, portalFake())
	scoring := scoringFake(t)
	g := caddytest.Start(t, enginesGlobal(scoring.URL, refusedURL(t)), fmt.Sprintf(policySite, upstream.Listener.Addr()))
	return g, upstream
}

const formType = "application/x-www-form-urlencoded"

// TestMissingUser: a login without a user is refused by default (400
// missing_user, nothing reaches the portal); allow and monitor pass it.
func TestMissingUser(t *testing.T) {
	g, upstream := startPolicySite(t)
	for _, body := range []string{"password=x", "username=&password=x", "username=%20%09&password=x", "username=+&password=x"} {
		resp, _ := g.Post(t, "/login", formType, body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%q: status %d, want 400", body, resp.StatusCode)
		}
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("%d logins without a user reached the portal", n)
	}
	if resp, _ := g.Post(t, "/idfirst", formType, "password=x"); resp.StatusCode == http.StatusBadRequest {
		t.Fatal("missing_user allow refused a login without a user")
	}
	if resp, _ := g.Post(t, "/watch", formType, "password=x"); resp.StatusCode == http.StatusBadRequest {
		t.Fatal("missing_user monitor refused a login without a user")
	}
	if n := len(upstream.All()); n != 2 {
		t.Fatalf("upstream got %d, want 2", n)
	}
	var refused, monitored, startLine bool
	for _, l := range g.AuditLines(t) {
		switch l["route"] {
		case "login":
			refused = refused || strings.Contains(fmt.Sprint(l["reasons"]), "bad_request_missing_user")
		case "watch":
			monitored = monitored || strings.Contains(fmt.Sprint(l["monitored"]), "missing_user")
		}
	}
	for _, l := range g.Logs(t) {
		if strings.Contains(fmt.Sprint(l["msg"]), "missing_user deny") && l["route"] == "login" {
			startLine = true
		}
		if strings.Contains(fmt.Sprint(l["msg"]), "missing_user deny") && l["route"] == "idfirst" {
			t.Error("the start-up line names a route with missing_user allow")
		}
	}
	if !refused || !monitored || !startLine {
		t.Fatalf("audit: refused %v, monitored %v; start-up line %v\n%s", refused, monitored, startLine, g.RawLogs(t))
	}
}

// TestOperationNumbers: an amount some framework reads as a number the
// guard does not (" 5", "５", "٥"), that only Go reads ("0x1p4", "1_0"),
// that some read as octal ("007") or that a float64 cannot hold exactly
// refuses the transfer instead of passing it with no SmartID event.
func TestOperationNumbers(t *testing.T) {
	g, upstream := startPolicySite(t)
	for _, amount := range []string{"%205", "5%20", "%EF%BC%95", "%D9%A5", "0x1p4", "1_0", "%2B5", "5e1", "Inf", "NaN", "1.", ".5", "007", "9007199254740993"} {
		resp, _ := g.Post(t, "/transfer", formType, "amount="+amount+"&to=ES12")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("amount %q: status %d, want 400", amount, resp.StatusCode)
		}
	}
	for _, ref := range []string{"0x10", "0100"} {
		if resp, _ := g.Post(t, "/transfer", formType, "amount=5&ref="+ref); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("clientRefId %s: status %d, want 400", ref, resp.StatusCode)
		}
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("%d transfers with unreadable numbers reached the portal", n)
	}
	// A negative amount is a number, but no sum of money: see
	// TestOperationAmountIsASumOfMoney.
	for _, amount := range []string{"5", "0", "1250.50", "0.07"} {
		if resp, _ := g.Post(t, "/transfer", formType, "amount="+amount+"&ref=42"); resp.StatusCode != http.StatusOK {
			t.Errorf("amount %q: status %d, want 200", amount, resp.StatusCode)
		}
	}
	// on_invalid_operation pass keeps the old behaviour.
	if resp, _ := g.Post(t, "/transfer-lax", formType, "amount=%205"); resp.StatusCode != http.StatusOK {
		t.Errorf("on_invalid_operation pass: status %d", resp.StatusCode)
	}
}

// TestTrailersRefused: X-Login-Guard-* (or anything) sent as a request
// trailer never reaches the portal: a guarded request with trailers is
// refused.
func TestTrailersRefused(t *testing.T) {
	g, upstream := startPolicySite(t)
	u, _ := url.Parse(g.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "username=alice&password=x"
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\nTrailer: X-Login-Guard-Action\r\n\r\n%x\r\n%s\r\n0\r\nX-Login-Guard-Action: allow\r\nX-Login-Guard-Signature: forged\r\n\r\n",
		u.Host, formType, len(body), body)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatal("a request with trailers reached the portal")
	}
}

// TestRepeatedHeaderForWhenRule: `X-Client: legacy` twice reads "legacy,
// legacy" for the rule, "legacy" for most frameworks: refused.
func TestRepeatedHeaderForWhenRule(t *testing.T) {
	g, upstream := startPolicySite(t)
	send := func(values ...string) int {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/login", strings.NewReader("username=alice&password=x"))
		req.Header.Set("Content-Type", formType)
		for _, v := range values {
			req.Header.Add("X-Client", v)
		}
		resp, _ := g.Do(t, req)
		return resp.StatusCode
	}
	if s := send("legacy"); s != http.StatusForbidden {
		t.Fatalf("one X-Client: legacy: %d, want 403", s)
	}
	if s := send("legacy", "legacy"); s != http.StatusBadRequest {
		t.Fatalf("X-Client twice: %d, want 400", s)
	}
	if s := send("modern"); s == http.StatusBadRequest || s == http.StatusForbidden {
		t.Fatalf("one X-Client: modern: %d", s)
	}
	if n := len(upstream.All()); n != 1 {
		t.Fatalf("upstream got %d, want 1", n)
	}
	// A header no rule reads may repeat.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/login", strings.NewReader("username=alice&password=x"))
	req.Header.Set("Content-Type", formType)
	req.Header.Add("Accept", "text/html")
	req.Header.Add("Accept", "*/*")
	if resp, _ := g.Do(t, req); resp.StatusCode == http.StatusBadRequest {
		t.Fatal("a repeated header no rule reads was refused")
	}
}

// TestUpstreamHeadersV2: the signature binds method, path, user and time;
// on evaluate after_upstream the verdict is "pending", never "allow".
func TestUpstreamHeadersV2(t *testing.T) {
	g, upstream := startPolicySite(t)
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/login", strings.NewReader("username=J%C3%BCrgen%0A&password=x"))
	req.Header.Set("Content-Type", formType)
	req.Header.Set("X-Login-Guard-User", "Zm9yZ2Vk")
	if resp, body := g.Do(t, req); len(upstream.All()) != 1 {
		t.Fatalf("login not passed: %d %s %s", resp.StatusCode, body, g.RawLogs(t))
	}
	got := upstream.All()[0]
	v, err := upstreamsig.Verify(got.Header, []byte(policySecret), "POST", "/login", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("verify: %v (%v)", err, got.Header)
	}
	if v.User != "Jürgen\n" || v.Action != "allow" || v.Route != "login" {
		t.Fatalf("verdict %+v", v)
	}
	if _, err := upstreamsig.Verify(got.Header, []byte(policySecret), "POST", "/other", time.Now(), time.Minute); err != upstreamsig.ErrSignature {
		t.Fatalf("another path verified: %v", err)
	}
	if _, err := upstreamsig.Verify(got.Header, []byte(policySecret), "POST", "/login", time.Now().Add(time.Hour), time.Minute); err != upstreamsig.ErrStale {
		t.Fatalf("an old verdict verified: %v", err)
	}

	g.Post(t, "/after", formType, "username=alice&password="+password)
	after := upstream.All()[1]
	v, err = upstreamsig.Verify(after.Header, []byte(policySecret), "POST", "/after", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("verify after: %v", err)
	}
	if v.Action != upstreamsig.ActionPending || v.User != "alice" || v.Route != "after" || v.Score != "" {
		t.Fatalf("after_upstream verdict %+v, want pending for alice", v)
	}
}

// TestIssueExamplesRefused: each shape that got a denied user past the
// guard, sent through a real Caddy, is refused and never reaches the
// portal.
func TestIssueExamplesRefused(t *testing.T) {
	g, upstream := startPolicySite(t)
	const b = "XyZ"
	mp := func(headers string) string {
		return "--" + b + "\r\n" + headers + "\r\n\r\nalice\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--" + b + "--\r\n"
	}
	multipart := "multipart/form-data; boundary=" + b
	cases := []struct{ name, ct, body string }{
		{"utf-7 form", formType + "; charset=utf-7", "+AHU-sername=victim&password=x"},
		{"latin1 form", formType + "; charset=iso-8859-1", "username=victim&password=x"},
		{"utf-7 json", "application/json; charset=utf-7", `{"+AHU-sername":"victim","password":"x"}`},
		{"leading space", formType, "%20username=victim&password=x"},
		{"leading plus", formType, "+username=victim&password=x"},
		{"nul truncation", formType, "username%00x=victim&password=x"},
		{"bracket array", formType, "username%5B%5D=victim&password=x"},
		{"bracket index", formType, "username[0]=victim&password=x"},
		{"name* first", multipart, mp("Content-Disposition: form-data; name*=UTF-8''other; name=\"username\"")},
		{"name* last", multipart, mp("Content-Disposition: form-data; name=\"username\"; name*=UTF-8''other")},
		{"two dispositions", multipart, mp("Content-Disposition: form-data; name=\"other\"\r\nContent-Disposition: form-data; name=\"username\"")},
		{"look-alike boundary", "multipart/form-data; xboundary=AAA; boundary=" + b, mp("Content-Disposition: form-data; name=\"username\"")},
	}
	for _, c := range cases {
		resp, _ := g.Post(t, "/login", c.ct, c.body)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s: status %d, want 400 or 415", c.name, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/login", strings.NewReader("username=victim&password=x"))
	req.Header.Add("Content-Type", formType)
	req.Header.Add("Content-Type", "application/json")
	if resp, _ := g.Do(t, req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("two Content-Type headers: status %d, want 415", resp.StatusCode)
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("%d refused shapes reached the portal", n)
	}
	// The well-formed login still passes.
	if resp, _ := g.Post(t, "/login", formType+"; charset=UTF-8", "username=alice&password=x"); resp.StatusCode >= 400 {
		t.Fatalf("well-formed login: status %d", resp.StatusCode)
	}
}

func TestRequestPolicyConfigErrors(t *testing.T) {
	cases := []struct{ name, cfg, want string }{
		{"bad missing_user", ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tmissing_user maybe\n\t}\n}\n", "Caddyfile:4: \"maybe\" is not one of deny, allow, monitor"},
		{"missing_user on logout", ":8080 {\n\tlogin_guard {\n\t\tevent logout\n\t\tmissing_user allow\n\t}\n}\n", "missing_user needs event login"},
		{"bad on_invalid_operation", ":8080 {\n\tlogin_guard {\n\t\tevent operation\n\t\ton_invalid_operation skip\n\t}\n}\n", "Caddyfile:4: \"skip\" is not one of refuse, pass"},
		{"on_invalid_operation on login", ":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\ton_invalid_operation pass\n\t}\n}\n", "on_invalid_operation needs event operation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAdaptErr(t, caddytest.ValidateCaddyfile(t, c.cfg), c.want)
		})
	}
}
