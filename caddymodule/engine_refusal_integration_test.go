package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/forterfake"
)

// TestEngineRefusingTheRequestIsNoOutage: an engine that answers 400 to
// one request's content (here Forter's validation of a user agent, which
// the client chooses, longer than it takes) has not failed: the attacker
// chose that answer. It used to be judged as an outage,
// on_engine_failure (allow by default), so a declined login passed with
// a long enough User-Agent. It is now challenged at least.
func TestEngineRefusingTheRequestIsNoOutage(t *testing.T) {
	forter := forterfake.New(t, "abc123", "FORTER-KEY-secret")
	forter.Override(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ConnectionInformation struct {
				UserAgent string `json:"userAgent"`
			} `json:"connectionInformation"`
		}
		got := forter.All() // the fake has read the body: this request's is the last
		raw := got[len(got)-1].Body
		w.Header().Set("Content-Type", "application/json")
		if err := json.Unmarshal(raw, &body); err != nil || len(body.ConnectionInformation.UserAgent) > 4096 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"failed","message":"connectionInformation.userAgent: too long"}`)
			return
		}
		io.WriteString(w, `{"forterDecision":"DECLINE","decisionReason":"","accountId":"NO_ACCOUNT_ID","correlationId":"CORR-DECLINE","recommendation":""}`)
	})
	for _, policy := range []string{"allow", "challenge", "deny"} {
		t.Run(policy, func(t *testing.T) {
			upstream := caddytest.NewRecorder(t, portalFake())
			global := fmt.Sprintf(`	login_guard {
		forter {
			site_id  abc123
			api_key  FORTER-KEY-secret
			endpoint %s
		}
	}`, forter.URL)
			site := fmt.Sprintf(`{{listen}} {
	@login {
		path /api/login
	}
	login_guard @login {
		event login
		engines forter
		evaluate before_upstream
		on_engine_failure %s
	}
	reverse_proxy %s
}`, policy, upstream.Listener.Addr())
			g := caddytest.Start(t, global, site)
			login := func(agent string) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/login", strings.NewReader("username=jlopez&password="+password))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("User-Agent", agent)
				resp, _ := g.Do(t, req)
				return resp
			}
			if resp := login("Mozilla/5.0"); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("declined login: %d", resp.StatusCode)
			}
			want := http.StatusUnauthorized // challenged: the route has no step-up
			if policy == "deny" {
				want = http.StatusForbidden
			}
			resp := login("Mozilla/5.0 " + strings.Repeat("x", 8<<10))
			if resp.StatusCode != want || len(upstream.All()) != 0 {
				t.Fatalf("login Forter refused to judge: %d, the portal got %d requests; want %d and none", resp.StatusCode, len(upstream.All()), want)
			}
			lines := g.AuditLines(t)
			last := lines[len(lines)-1]
			if r := fmt.Sprint(last["reasons"]); !strings.Contains(r, "engine_refused_request") || strings.Contains(r, "engine_unavailable") {
				t.Fatalf("audit reasons %s", r)
			}
			if e := fmt.Sprint(last["engines"]); !strings.Contains(e, "status_4xx") {
				t.Fatalf("audit engines %s", e)
			}
		})
	}
}
