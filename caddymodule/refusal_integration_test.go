package caddymodule_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

const refusalSite = `{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		user_field credentials.username
		max_body 1KiB
		deny_ip 127.0.0.0/30
		allow_ip 127.0.0.1
	}
	@strict {
		method POST
		path /api/strict
	}
	login_guard @strict {
		event login
		deny_ip 127.0.0.0/8
		unsupported_media_status 400
	}
	reverse_proxy %s
}`

// TestRefusalsNeverReachTheUpstream sends every request shape the guard
// must refuse and checks the status, that the upstream saw nothing, and
// that the audit line says why without quoting the body.
func TestRefusalsNeverReachTheUpstream(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, "", fmt.Sprintf(refusalSite, upstream.Listener.Addr()))

	big := "username=jlopez&password=" + password + "&pad=" + strings.Repeat("x", 2000)
	cases := []struct {
		name, path, ctype, body string
		header                  map[string]string
		query                   string
		status                  int
	}{
		{"too large", "/api/login", "application/x-www-form-urlencoded", big, nil, "", 413},
		{"malformed json", "/api/login", "application/json", `{"credentials":{"username":"jlopez","password":"` + password + `"`, nil, "", 400},
		{"duplicate form user", "/api/login", "application/x-www-form-urlencoded", "credentials.username=a&credentials.username=b&password=" + password, nil, "", 400},
		{"duplicate json key", "/api/login", "application/json", `{"credentials":{"username":"a","username":"b","password":"` + password + `"}}`, nil, "", 400},
		{"case-different keys", "/api/login", "application/json", `{"credentials":{"username":"a","UserName":"b"}}`, nil, "", 400},
		{"escaped duplicate key", "/api/login", "application/json", `{"credentials":{"username":"a","user\u006eame":"b"}}`, nil, "", 400},
		{"json user not a string", "/api/login", "application/json", `{"credentials":{"username":["a"],"password":"` + password + `"}}`, nil, "", 400},
		{"trailing data", "/api/login", "application/json", `{"credentials":{"username":"a"}} {"x":1}`, nil, "", 400},
		{"user in query and body", "/api/login", "application/json", `{"credentials":{"username":"a"}}`, nil, "credentials.username=b", 400},
		{"unknown content type", "/api/login", "text/plain", "username=a&password=" + password, nil, "", 415},
		{"no content type", "/api/login", "", "username=a&password=" + password, nil, "", 415},
		{"configured refusal status", "/api/strict", "application/xml", "<u>a</u>", nil, "", 400},
		{"content encoding", "/api/login", "application/x-www-form-urlencoded", "username=a&password=" + password, map[string]string{"Content-Encoding": "gzip"}, "", 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.URL+c.path+"?"+c.query, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, _ := g.Do(t, req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
	if n := len(upstream.All()); n != 0 {
		t.Fatalf("the upstream saw %d refused requests", n)
	}
	lines := g.AuditLines(t)
	if len(lines) != len(cases) {
		t.Fatalf("%d audit lines for %d requests", len(lines), len(cases))
	}
	for _, l := range lines {
		if l["action"] != "deny" || l["refused"] == nil {
			t.Fatalf("audit line %v", l)
		}
	}
	raw := g.RawLogs(t)
	if strings.Contains(raw, password) || strings.Contains(raw, "xxxxxxxxxx") {
		t.Fatal("a refused body's content reached the logs")
	}
}

// TestRefusalCodeFollowsTheReason: unsupported_media_status sets the
// status of an unknown content type, not the code of every refusal that
// shares it (docs/pages.md): on a route with unsupported_media_status 400
// a login without a user is still bad_request, an unknown type is
// unsupported_media_type at 400, and a charset refusal (415 whatever the
// option) is unsupported_media_type.
func TestRefusalCodeFollowsTheReason(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, "", fmt.Sprintf(refusalSite, upstream.Listener.Addr()))
	for _, c := range []struct {
		name, ctype, body, code string
		status                  int
	}{
		{"missing user", "application/x-www-form-urlencoded", "password=" + password, "bad_request", 400},
		{"duplicate user", "application/x-www-form-urlencoded", "username=a&username=b&password=" + password, "bad_request", 400},
		{"unknown content type", "application/xml", "<u>a</u>", "unsupported_media_type", 400},
		{"charset", "application/x-www-form-urlencoded; charset=latin1", "username=a&password=" + password, "unsupported_media_type", 415},
	} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/strict", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		req.Header.Set("Accept", "application/json")
		resp, body := g.Do(t, req)
		if resp.StatusCode != c.status || !strings.Contains(body, `"error":"`+c.code+`"`) {
			t.Errorf("%s: %d %s, want %d and %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
}

// TestChunkedBodyPassesIntact sends a login with no Content-Length: the
// guard must read it within the cap and the upstream must get the same
// bytes.
func TestChunkedBodyPassesIntact(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := caddytest.Start(t, "", fmt.Sprintf(refusalSite, upstream.Listener.Addr()))
	body := `{"credentials":{"username":"jlopez","password":"` + password + `"},"smartid_data":"abc"}`
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", io.MultiReader(strings.NewReader(body[:10]), strings.NewReader(body[10:])))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	resp, _ := g.Do(t, req)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := upstream.All()
	if len(got) != 1 || !bytes.Equal(got[0].Body, []byte(body)) {
		t.Fatalf("upstream got %+v", got)
	}
	lines := g.AuditLines(t)
	if len(lines) != 1 || lines[0]["user"] != "jlopez" {
		t.Fatalf("audit %v", lines)
	}

	// Oversized and chunked: refused, nothing forwarded.
	big := strings.Repeat("a", 5000)
	req, _ = http.NewRequest(http.MethodPost, g.URL+"/api/login", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	if resp, _ := g.Do(t, req); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked: %d", resp.StatusCode)
	}
	if len(upstream.All()) != 1 {
		t.Fatal("an oversized chunked body reached the upstream")
	}
}

// TestIPListsAndGuardHeaders: deny_ip refuses with 403 before the
// upstream; allow_ip wins over deny_ip; client-sent X-Login-Guard-*
// headers never reach the upstream; the verdict is a placeholder.
func TestIPListsAndGuardHeaders(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := fmt.Sprintf(refusalSite, upstream.Listener.Addr())
	site = strings.Replace(site, "{{listen}} {", "{{listen}} {\n\theader {\n\t\tdefer\n\t\tX-Guard-Action {http.login_guard.action}\n\t\tX-Guard-Reasons {http.login_guard.reasons}\n\t}\n\thandle_errors {\n\t\trespond \"refused: {http.login_guard.action} {err.status_code} {http.login_guard.code}\"\n\t}", 1)
	// /api/strict hands its refusals to the site's handle_errors.
	site = strings.Replace(site, "unsupported_media_status 400\n", "unsupported_media_status 400\n\t\terror_pages handle_errors\n", 1)
	g := caddytest.Start(t, "", site)

	// 127.0.0.1 is denied by 127.0.0.0/30 but allowed by allow_ip.
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("credentials.username=jlopez&password="+password))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Login-Guard-Action", "allow")
	req.Header.Set("x-login-guard-score", "0")
	resp, _ := g.Do(t, req)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("X-Guard-Action") != "allow" || resp.Header.Get("X-Guard-Reasons") != "ip_allowed" {
		t.Fatalf("allow_ip: %d %v", resp.StatusCode, resp.Header)
	}
	got := upstream.All()
	if len(got) != 1 {
		t.Fatalf("upstream got %d", len(got))
	}
	for k := range got[0].Header {
		if strings.HasPrefix(strings.ToLower(k), "x-login-guard-") {
			t.Fatalf("client-sent %s reached the upstream", k)
		}
	}

	// /api/strict denies 127.0.0.0/8 and has no allow list.
	resp, body := g.Post(t, "/api/strict", "application/x-www-form-urlencoded", "username=jlopez&password="+password)
	// handle_errors renders the refusal, and sees the verdict placeholder.
	if resp.StatusCode != http.StatusForbidden || body != "refused: deny 403 denied" {
		t.Fatalf("deny_ip: %d %q", resp.StatusCode, body)
	}
	if len(upstream.All()) != 1 {
		t.Fatal("a denied request reached the upstream")
	}
}
