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
)

func TestForterAfterUpstream(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		http.SetCookie(w, &http.Cookie{Name: "portal_session", Value: "APP-SESSION"})
		if !strings.Contains(r.Header.Get("X-Forwarded-For"), "0.0.0.5") { // a portal that names no account
			w.Header().Set("X-Account-Id", "acct-42")
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "welcome")
	})
	forter := forterfake.New(t, "abc123", "FORTER-KEY-secret")
	global := fmt.Sprintf(`	servers {
		trusted_proxies static 127.0.0.1/32
	}
	login_guard {
		forter {
			site_id  abc123
			api_key  FORTER-KEY-secret
			endpoint %s
		}
	}`, forter.URL)
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
		success {
			cookie portal_session
		}
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := caddytest.Start(t, global, site)

	login := func(ip string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=jlopez%40example.com&password="+password))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("User-Agent", "TestAgent/1.0")
		req.AddCookie(&http.Cookie{Name: "forterToken", Value: "2315688945984"})
		return g.Do(t, req)
	}
	resp, body := login("0.0.0.1")
	if resp.StatusCode != 200 || body != "welcome" || cookieNamed(resp, "portal_session") == nil {
		t.Fatalf("approve: %d %q", resp.StatusCode, body)
	}
	resp, body = login("0.0.0.2")
	if resp.StatusCode != 403 || cookieNamed(resp, "portal_session") != nil || body == "welcome" {
		t.Fatalf("decline: %d %q %v", resp.StatusCode, body, resp.Cookies())
	}
	resp, _ = login("0.0.0.4")
	if resp.StatusCode != 401 || cookieNamed(resp, "portal_session") != nil {
		t.Fatalf("verification: %d %v", resp.StatusCode, resp.Cookies())
	}

	// The portal named no account: no account id, never the
	// placeholder's own text (which would be one account for everyone).
	login("0.0.0.5")

	got := forter.All()
	if len(got) != 4 {
		t.Fatalf("forter got %d requests", len(got))
	}
	if got[3].Path != "/v2/accounts/login/NO_ACCOUNT_ID" {
		t.Fatalf("forter request for a login without an account id: %s", got[3].Path)
	}
	r := got[0]
	if r.Method != http.MethodPost || r.Path != "/v2/accounts/login/acct-42" {
		t.Fatalf("forter request %s %s", r.Method, r.Path)
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("FORTER-KEY-secret:")); r.Header.Get("Authorization") != want {
		t.Fatalf("Authorization %q", r.Header.Get("Authorization"))
	}
	if r.Header.Get("x-forter-siteid") != "abc123" || r.Header.Get("api-version") == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("forter headers %v", r.Header)
	}
	var req map[string]any
	json.Unmarshal(r.Body, &req)
	if k := keys(req); !reflect.DeepEqual(k, []string{"accountId", "channelType", "connectionInformation", "eventTime", "loginMethodType", "loginStatus", "userInput"}) {
		t.Fatalf("forter keys %v", k)
	}
	ci := req["connectionInformation"].(map[string]any)
	ui := req["userInput"].(map[string]any)
	if req["accountId"] != "acct-42" || req["loginStatus"] != "SUCCESS" || ci["customerIP"] != "0.0.0.1" || ci["userAgent"] != "TestAgent/1.0" ||
		ci["forterTokenCookie"] != "2315688945984" || ui["inputType"] != "EMAIL" || ui["email"] != "jlopez@example.com" {
		t.Fatalf("forter body %s", r.Body)
	}
	if _, ok := req["eventTime"].(float64); !ok || strings.Contains(string(r.Body), password) {
		t.Fatalf("forter body %s", r.Body)
	}
	lines := g.AuditLines(t)
	if c := fmt.Sprint(lines[1]["correlations"]); !strings.Contains(c, "CORR-DECLINE") {
		t.Fatalf("the correlation id belongs in the audit line: %v", lines[1])
	}
}

func TestForterNeedsAnExplicitEvaluationPoint(t *testing.T) {
	cfg := "{\n\tlogin_guard {\n\t\tforter {\n\t\t\tsite_id abc\n\t\t\tapi_key k\n\t\t}\n\t}\n}\n:8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tengines forter\n\t}\n}\n"
	err := caddytest.ValidateCaddyfile(t, cfg)
	checkAdaptErr(t, err, "wants only logins whose password was right")
	ok := strings.Replace(cfg, "engines forter\n", "engines forter\n\t\tevaluate before_upstream\n", 1)
	if err := caddytest.ValidateCaddyfile(t, ok); err != nil {
		t.Fatalf("an explicit before_upstream is accepted: %v", err)
	}
}

// TestForterOutage: Forter refusing connections, or hanging past the
// engine's timeout, holds a login no longer than that timeout and ends in
// the route's stated policy (on_engine_failure, reason
// engine_unavailable): let through with allow, refused with deny.
func TestForterOutage(t *testing.T) {
	hang := make(chan struct{})
	hanging := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler)
	})
	t.Cleanup(func() { close(hang) })
	closed := caddytest.NewRecorder(t, func(http.ResponseWriter, *http.Request, []byte) {})
	closedURL := closed.URL
	closed.Close() // nothing listens there any more: connections are refused
	for _, c := range []struct{ name, endpoint, policy string }{
		{"refused, allow", closedURL, "allow"},
		{"hanging, allow", hanging.URL, "allow"},
		{"refused, deny", closedURL, "deny"},
		{"hanging, deny", hanging.URL, "deny"},
	} {
		t.Run(c.name, func(t *testing.T) {
			upstream := caddytest.NewRecorder(t, portalFake())
			global := fmt.Sprintf(`	login_guard {
		forter {
			site_id  abc123
			api_key  FORTER-KEY-secret
			endpoint %s
			timeout  300ms
		}
	}`, c.endpoint)
			site := fmt.Sprintf(`{{listen}} {
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		engines forter
		evaluate before_upstream
		on_engine_failure %s
	}
	reverse_proxy %s
}`, c.policy, upstream.Listener.Addr())
			g := caddytest.Start(t, global, site)
			began := time.Now()
			resp, _ := g.Post(t, "/api/login", "application/x-www-form-urlencoded", "username=jlopez&password="+password)
			if took := time.Since(began); took > 5*time.Second {
				t.Fatalf("the login waited %v on Forter (timeout 300ms)", took)
			}
			want, reached := http.StatusSeeOther, 1
			if c.policy == "deny" {
				want, reached = http.StatusForbidden, 0
			}
			if resp.StatusCode != want || len(upstream.All()) != reached {
				t.Fatalf("answer %d, the portal got %d requests; want %d and %d", resp.StatusCode, len(upstream.All()), want, reached)
			}
			lines := g.AuditLines(t)
			if r := fmt.Sprint(lines[len(lines)-1]["reasons"]); !strings.Contains(r, "engine_unavailable") {
				t.Fatalf("audit reasons %s", r)
			}
		})
	}
}
