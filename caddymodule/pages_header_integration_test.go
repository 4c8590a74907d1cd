package caddymodule_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestAnswerHeadersOwnValues: a site that edits a refusal's headers with
// a deferred `header` replace (which rewrites the values in place) edits
// that answer only. Every other route's refusals, the 403 and the 429
// alike, keep the guard's own values: no header value slice is shared
// between answers.
func TestAnswerHeadersOwnValues(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) { w.WriteHeader(http.StatusSeeOther) })
	site := `{{listen}} {
	handle /edited/* {
		header >Cache-Control "no-store" "edited"
		header >X-Frame-Options "DENY" "edited"
		header >Content-Type "text/html" "edited"
		header >Content-Security-Policy "default-src" "edited"
		login_guard /edited/deny {
			event login
			deny_ip 127.0.0.0/8
		}
		login_guard /edited/rate {
			event login
			rate ip 1/1h deny
		}
	}
	login_guard /plain/deny {
		event login
		deny_ip 127.0.0.0/8
	}
	login_guard /plain/rate {
		event login
		rate ip 1/1h deny
	}
	reverse_proxy %s
}`
	g := caddytest.Start(t, "", fmt.Sprintf(site, upstream.Listener.Addr()))
	post := func(path string) *http.Response {
		resp, _ := g.Post(t, path, "application/x-www-form-urlencoded", "username=a&password=b")
		return resp
	}
	post("/edited/rate")
	post("/plain/rate")
	for _, path := range []string{"/edited/deny", "/edited/rate"} {
		if resp := post(path); resp.Header.Get("Cache-Control") != "edited" || resp.Header.Get("X-Frame-Options") != "edited" {
			t.Fatalf("%s: the site's edit was not applied: %v", path, resp.Header)
		}
	}
	for _, c := range []struct {
		path   string
		status int
	}{{"/plain/deny", http.StatusForbidden}, {"/plain/rate", http.StatusTooManyRequests}} {
		resp := post(c.path)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: %d", c.path, resp.StatusCode)
		}
		for name, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY",
			"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s %q, want %q (another route's edit leaked into this answer)", c.path, name, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); len(csp) < 12 || csp[:12] != "default-src " {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
	}
}

// TestChallengeAnswerHeaders: the challenge's own answers (the browser's
// 303 to the step-up page, a script's 401 carrying the state) carry the
// headers every other answer of the guard carries: not cached, no
// referrer, not framed, not sniffed.
func TestChallengeAnswerHeaders(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g := startStepUp(t, upstream, "")
	for _, c := range []struct {
		ctype, body string
		status      int
	}{
		{"application/x-www-form-urlencoded", challengedForm, http.StatusSeeOther},
		{"application/json", `{"username":"sandbox-challenge","password":"` + password + `"}`, http.StatusUnauthorized},
	} {
		resp, _ := newStepClient(t, g, "198.51.100.7").do("POST", "/api/login", c.ctype, c.body, nil)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: %d, want %d", c.ctype, resp.StatusCode, c.status)
		}
		for name, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s challenge: %s %q, want %q", c.ctype, name, got, want)
			}
		}
	}
}
