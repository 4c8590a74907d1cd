package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// TestAssertionHeaderGivenTwice: with assertion_header the guard must
// judge the only token the portal can read. A request carrying the header
// twice let the guard verify the first value while passing both to the
// portal, which may take the last (or both joined): it is refused (400
// repeated_header, as a header a when rule reads) and never reaches the
// portal. Spellings with '_' or '.' that a CGI-style
// portal reads as the same header never get that far: Caddy drops them.
func TestAssertionHeaderGivenTwice(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	kh := loginidfake.New(t, "client-123")
	site := fmt.Sprintf(`{{listen}} {
	login_guard /passwordless {
		event login
		assertion passwordless
		assertion_header X-LoginID-JWT
		when "assertion != \"valid\"" deny
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, loginIDGlobal(kh), site)
	now := time.Now()
	nonce := 0
	mint := func() string {
		nonce++
		return kh.Mint(t, "john.doe", "fido2_login", fmt.Sprintf("hdr-%d", nonce), now)
	}
	cases := []struct {
		name    string
		headers [][2]string
		status  int
		reason  string
	}{
		{"one header", [][2]string{{"X-LoginID-JWT", mint()}}, 200, "assertion_valid"},
		{"twice, valid first", [][2]string{{"X-LoginID-JWT", mint()}, {"X-LoginID-JWT", "forged.forged.forged"}}, 400, "bad_request_repeated_header"},
		{"twice, valid last", [][2]string{{"X-LoginID-JWT", "forged.forged.forged"}, {"X-LoginID-JWT", mint()}}, 400, "bad_request_repeated_header"},
		{"lower-case names are the same header", [][2]string{{"X-LoginID-JWT", mint()}, {"x-loginid-jwt", mint()}}, 400, "bad_request_repeated_header"},
		{"underscore copy is dropped by Caddy", [][2]string{{"X-LoginID-JWT", mint()}, {"X_LoginID_JWT", "forged.forged.forged"}}, 200, "assertion_valid"},
		{"one header again", [][2]string{{"X-LoginID-JWT", mint()}}, 200, "assertion_valid"},
	}
	for _, c := range cases {
		before := len(upstream.All())
		form := url.Values{"username": {"john.doe"}, "password": {password}}
		req, err := http.NewRequest(http.MethodPost, g.URL+"/passwordless", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, h := range c.headers {
			// Set straight into the map, spelt as given.
			req.Header[h[0]] = append(req.Header[h[0]], h[1])
		}
		resp, _ := g.Do(t, req)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if reached := len(upstream.All()) > before; reached != (c.status == 200) {
			t.Errorf("%s: reached the portal: %v", c.name, reached)
		}
	}
	lines := g.AuditLines(t)
	if len(lines) != len(cases) {
		t.Fatalf("%d audit lines, want %d", len(lines), len(cases))
	}
	for i, c := range cases {
		if got := fmt.Sprint(lines[i]["reasons"]); !strings.Contains(got, c.reason) {
			t.Errorf("%s: audit reasons %s, want %s", c.name, got, c.reason)
		}
	}
}
