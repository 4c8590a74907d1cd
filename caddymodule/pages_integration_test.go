package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// pagesSite has one route per kind of refusal: a lockout, deny_ip, a rate
// limit, a challenge with no step-up page, and a route that hands its
// answers to handle_errors.
const pagesSite = `{{listen}} {
	handle_errors {
		respond "site page: {err.status_code} {http.login_guard.code} {http.error.message} retry={http.login_guard.retry_after}"
	}
	login_guard /api/lockout {
		event login
		success {
			location /account
		}
		lockout user 1/1h for 1h deny
	}
	login_guard /api/deny {
		event login
		deny_ip 127.0.0.0/8
	}
	login_guard /api/rate {
		event login
		rate ip 1/1h deny
	}
	login_guard /api/challenge {
		event login
		engines sandbox
	}
	login_guard /api/own {
		event login
		rate ip 1/1h deny
		error_pages handle_errors
	}
	reverse_proxy %s
}`

const pagesGlobal = `	login_guard {
		sandbox
		pages {
			portal_name "Example Bank"
			sign_in_url /login
			help_url /help/passkeys
		}
	}`

// ruleWords must never reach a person: rule kinds, engines, reasons.
var ruleWords = regexp.MustCompile(`(?i)lockout|locked|rate_(ip|user|device)|deny_ip|ip_denied|sandbox|engine|rule`)

func pagePost(t *testing.T, g *caddytest.Guarded, path, user string, json bool) (*http.Response, string) {
	t.Helper()
	if json {
		return g.Post(t, path, "application/json", `{"username":"`+user+`","password":"wrong"}`)
	}
	return g.Post(t, path, "application/x-www-form-urlencoded", "username="+user+"&password=wrong")
}

// TestGuardPages: every refusal is a page for a browser and a coded JSON
// error for a script; a lockout is byte for byte the deny page; no answer
// names a rule or engine; an `error_pages handle_errors` route leaves the
// answer to the site, with the code and Retry-After as placeholders.
func TestGuardPages(t *testing.T) {
	// The portal answers every path like its login form.
	portal := portalFake()
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		r.URL.Path = "/api/login"
		portal(w, r, body)
	})
	g := caddytest.Start(t, pagesGlobal, fmt.Sprintf(pagesSite, upstream.Listener.Addr()))

	// The lockout: one failed login (the portal refuses "wrong"), then the
	// next attempt for that user is locked out.
	if resp, _ := pagePost(t, g, "/api/lockout", "jlopez", false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first attempt: %d", resp.StatusCode)
	}
	lockResp, lockBody := pagePost(t, g, "/api/lockout", "jlopez", false)
	denyResp, denyBody := pagePost(t, g, "/api/deny", "someone", false)
	if lockResp.StatusCode != http.StatusForbidden || denyResp.StatusCode != http.StatusForbidden {
		t.Fatalf("lockout %d, deny %d", lockResp.StatusCode, denyResp.StatusCode)
	}
	if lockBody != denyBody {
		t.Fatalf("a lockout reads differently from a deny:\n%s\n---\n%s", lockBody, denyBody)
	}
	for _, h := range []string{"Content-Type", "Content-Security-Policy", "Content-Length", "Cache-Control", "Retry-After", "Set-Cookie"} {
		if lockResp.Header.Get(h) != denyResp.Header.Get(h) {
			t.Errorf("%s: lockout %q, deny %q", h, lockResp.Header.Get(h), denyResp.Header.Get(h))
		}
	}
	for _, want := range []string{"<title>Sign-in not possible · Example Bank</title>", "<h1>Sign-in not possible</h1>", `href="/login"`} {
		if !strings.Contains(denyBody, want) {
			t.Errorf("deny page lacks %s:\n%s", want, denyBody)
		}
	}
	if ct := denyResp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("deny Content-Type %q", ct)
	}
	lockJSON, lockJSONBody := pagePost(t, g, "/api/lockout", "jlopez", true)
	_, denyJSONBody := pagePost(t, g, "/api/deny", "someone", true)
	if lockJSON.StatusCode != http.StatusForbidden || lockJSONBody != denyJSONBody || !strings.Contains(lockJSONBody, `"error":"denied"`) {
		t.Fatalf("JSON lockout %d %s, deny %s", lockJSON.StatusCode, lockJSONBody, denyJSONBody)
	}

	// The rate limit says when to come back.
	pagePost(t, g, "/api/rate", "a", false)
	rateResp, rateBody := pagePost(t, g, "/api/rate", "a", false)
	ra, _ := strconv.Atoi(rateResp.Header.Get("Retry-After"))
	if rateResp.StatusCode != http.StatusTooManyRequests || ra < 1 || !strings.Contains(rateBody, "<h1>Too many attempts</h1>") || !strings.Contains(rateBody, "You can try again in ") {
		t.Fatalf("rate limit: %d Retry-After %q\n%s", rateResp.StatusCode, rateResp.Header.Get("Retry-After"), rateBody)
	}
	rateJSON, rateJSONBody := pagePost(t, g, "/api/rate", "a", true)
	var rj struct {
		Error      string `json:"error"`
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after"`
	}
	if err := json.Unmarshal([]byte(rateJSONBody), &rj); err != nil || rj.Error != "rate_limited" || rj.RetryAfter < 1 || rateJSON.Header.Get("Retry-After") != strconv.Itoa(rj.RetryAfter) {
		t.Fatalf("JSON rate limit: %s %v", rateJSONBody, rateJSON.Header)
	}

	// A challenge with no step-up page on the route.
	chResp, chBody := g.Post(t, "/api/challenge", "application/x-www-form-urlencoded", "username=sandbox-challenge&password="+password)
	if chResp.StatusCode != http.StatusUnauthorized || !strings.Contains(chBody, "<h1>Extra check needed</h1>") {
		t.Fatalf("challenge: %d\n%s", chResp.StatusCode, chBody)
	}
	chJSON, chJSONBody := g.Post(t, "/api/challenge", "application/json", `{"username":"sandbox-challenge","password":"`+password+`"}`)
	if chJSON.StatusCode != http.StatusUnauthorized || !strings.Contains(chJSONBody, `"error":"step_up_required"`) {
		t.Fatalf("JSON challenge: %d %s", chJSON.StatusCode, chJSONBody)
	}

	for name, body := range map[string]string{"lockout": lockBody, "deny": denyBody, "rate": rateBody, "challenge": chBody,
		"json lockout": lockJSONBody, "json rate": rateJSONBody, "json challenge": chJSONBody} {
		if m := ruleWords.FindString(body); m != "" {
			t.Errorf("%s answer says %q", name, m)
		}
	}

	// error_pages handle_errors: the site's own page, with placeholders.
	pagePost(t, g, "/api/own", "a", false)
	ownResp, ownBody := pagePost(t, g, "/api/own", "a", false)
	if ownResp.StatusCode != http.StatusTooManyRequests || ownResp.Header.Get("Retry-After") == "" ||
		ownBody != "site page: 429 rate_limited rate_limited retry="+ownResp.Header.Get("Retry-After") {
		t.Fatalf("handle_errors route: %d %q %v", ownResp.StatusCode, ownBody, ownResp.Header)
	}
	// Only the first lockout attempt and the first of each rate limit.
	if n := len(upstream.All()); n != 3 {
		t.Fatalf("the upstream saw %d requests, want 3", n)
	}
}

// TestPagesOptionErrors: bad pages options fail at adapt time with the
// line.
func TestPagesOptionErrors(t *testing.T) {
	for _, c := range []struct{ opts, want string }{
		{"logo https://cdn.example.com/logo.png", "logo"},
		{"help_url http://help.example.com", "help_url"},
		{"dir /nonexistent/pages", "dir"},
		{"colour red", `unknown option "colour"`},
	} {
		src := "{\n\tlogin_guard {\n\t\tpages {\n\t\t\t" + c.opts + "\n\t\t}\n\t}\n}\n:8080 {\n\trespond ok\n}\n"
		_, _, err := adaptErr(src)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "Caddyfile:4") {
			t.Errorf("%s: %v", c.opts, err)
		}
	}
	_, _, err := adaptErr("{\n}\n:8080 {\n\tlogin_guard {\n\t\tevent login\n\t\terror_pages mine\n\t}\n}\n")
	if err == nil || !strings.Contains(err.Error(), "handle_errors") {
		t.Errorf("error_pages mine: %v", err)
	}
}

// TestPageTemplateStillServesTheStepUpPage: a route's page_template still
// renders its step-up and registration page; the refusals come from the
// pages.
func TestPageTemplateStillServesTheStepUpPage(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	tmpl := filepath.Join(t.TempDir(), "stepup.html")
	if err := os.WriteFile(tmpl, []byte(`<main id="login-guard-step-up" data-mode="{{.Mode}}" data-base="{{.Base}}" data-done="{{.Done}}"><h1>Operator's {{.Title}}</h1></main>`), 0o600); err != nil {
		t.Fatal(err)
	}
	site := strings.Replace(fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()),
		"\t\t\tmethods passkey\n", "\t\t\tmethods passkey\n\t\t\tpage_template "+tmpl+"\n", 1)
	g := caddytest.Start(t, stepUpGlobal, site)
	c := newStepClient(t, g, "198.51.100.7")
	if resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", "username=alice&password="+password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clean login: %d", resp.StatusCode)
	}
	resp, body := c.do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Operator's Register a passkey</h1>") || !strings.Contains(body, `data-done="/verify/enrolled"`) {
		t.Fatalf("enrol page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = newStepClient(t, g, "198.51.100.8").do("GET", "/verify/enrol", "", "", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<h1>Sign in to register a passkey</h1>") {
		t.Fatalf("refusal: %d\n%s", resp.StatusCode, body)
	}
}
