package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ruleWords are what no page may say: rule kinds, engines, vendors.
var ruleWords = regexp.MustCompile(`(?i)\b(rule|rate_|lockout|locked|spray|spread|deny_ip|engine|sandbox|forter|smartid|smile ?id|score|reason)`)

func get(t *testing.T, s *Set, a Answer, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/login", nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	if err := s.Write(w, r, a); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEveryAnswerIsAPage(t *testing.T) {
	s, err := New(Options{PortalName: "Example Bank"})
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]Code{}
	for _, c := range Codes() {
		w := get(t, s, Answer{Code: c, RetryAfter: 90 * time.Second}, nil)
		body := w.Body.String()
		e := catalogue[c]
		if w.Code != e.status || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %d %s", c, w.Code, w.Header().Get("Content-Type"))
		}
		if !strings.Contains(body, "<title>"+htmlEsc(e.title)+" · Example Bank</title>") || !strings.Contains(body, "<h1>"+htmlEsc(e.title)+"</h1>") || !strings.Contains(body, htmlEsc(e.msg)) {
			t.Errorf("%s: title or message missing:\n%s", c, body)
		}
		if m := ruleWords.FindString(stripCSS(body)); m != "" {
			t.Errorf("%s: page says %q", c, m)
		}
		if other, dup := titles[e.title+e.msg]; dup {
			t.Errorf("%s and %s read the same", c, other)
		}
		titles[e.title+e.msg] = c
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", c, w.Header())
		}
		assertCSPAllowsStyle(t, w.Header().Get("Content-Security-Policy"), body)
	}
}

func htmlEsc(s string) string {
	return strings.NewReplacer("'", "&#39;", "&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

func stripCSS(html string) string {
	return regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(html, "")
}

// assertCSPAllowsStyle checks the page's one <style> hashes to the CSP's
// style-src, and that no script may run on a notice page.
func assertCSPAllowsStyle(t *testing.T, csp, html string) {
	t.Helper()
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(html, -1)
	if len(m) != 1 {
		t.Fatalf("want one <style>, got %d", len(m))
	}
	sum := sha256.Sum256([]byte(m[0][1]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Fatalf("CSP %q lacks %s", csp, want)
	}
	if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
	if regexp.MustCompile(`(?i)\son[a-z]+\s*=|javascript:|style="`).MatchString(html) {
		t.Fatal("inline handler, javascript: URL or style attribute")
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Fatal("external resource")
	}
}

func TestJSONClients(t *testing.T) {
	s := Default()
	for _, hdr := range []map[string]string{{"Accept": "application/json"}, {"Content-Type": "application/json"}, {"Content-Type": "application/problem+json"}} {
		for _, c := range Codes() {
			w := get(t, s, Answer{Code: c, RetryAfter: 61 * time.Second}, hdr)
			var got struct {
				Error      string `json:"error"`
				Message    string `json:"message"`
				RetryAfter int    `json:"retry_after"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Error != string(c) || got.Message == "" || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%v %s: %d %q (%v)", hdr, c, w.Code, w.Body, err)
			}
			if w.Header().Get("Content-Security-Policy") != "" {
				t.Errorf("%s: CSP on JSON", c)
			}
			if c == RateLimited {
				if got.RetryAfter != 61 || w.Header().Get("Retry-After") != "61" || w.Code != http.StatusTooManyRequests {
					t.Errorf("rate_limited: %d %q Retry-After %q", w.Code, w.Body, w.Header().Get("Retry-After"))
				}
			} else if got.RetryAfter != 0 || w.Header().Get("Retry-After") != "" {
				t.Errorf("%s carries retry_after", c)
			}
		}
	}
}

func TestRateLimitPageSaysWhen(t *testing.T) {
	s := Default()
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond: "1 second", 30 * time.Second: "30 seconds", 91 * time.Second: "2 minutes",
		15 * time.Minute: "15 minutes", 2 * time.Hour: "2 hours", time.Minute: "1 minute",
	} {
		w := get(t, s, Answer{Code: RateLimited, RetryAfter: d}, nil)
		if !strings.Contains(w.Body.String(), "You can try again in "+want+".") {
			t.Errorf("%v: %s", d, w.Body)
		}
		if ra := w.Header().Get("Retry-After"); ra != "1" && d < time.Second {
			t.Errorf("%v: Retry-After %q", d, ra)
		}
		// Cached: the same wording gives the same bytes.
		if again := get(t, s, Answer{Code: RateLimited, RetryAfter: d}, nil); again.Body.String() != w.Body.String() {
			t.Errorf("%v: second render differs", d)
		}
	}
}

func TestHeadHasNoBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodHead, "/", nil)
	w := httptest.NewRecorder()
	if err := Default().Write(w, r, Answer{Code: Denied}); err != nil || w.Body.Len() != 0 || w.Code != 403 {
		t.Fatalf("%v %d %q", err, w.Code, w.Body)
	}
}

func TestStatusOverride(t *testing.T) {
	w := get(t, Default(), Answer{Code: UnsupportedMedia, Status: 400}, nil)
	if w.Code != 400 {
		t.Fatalf("status %d", w.Code)
	}
}

func TestBrandingAndHelp(t *testing.T) {
	s, err := New(Options{PortalName: "Acme <Portal>", Logo: "/static/logo.svg", HelpURL: "https://help.example.com/passkeys", HelpText: "Passkey help", SignInURL: "/login", Lang: "de"})
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, s, Answer{Code: NoFactor}, nil).Body.String()
	for _, want := range []string{`<html lang="de">`, `<img src="/static/logo.svg" alt="Acme &lt;Portal&gt;">`, `href="/login"`,
		`<a class="button" href="https://help.example.com/passkeys">Passkey help</a>`, "Follow the link below"} {
		if !strings.Contains(body, want) {
			t.Errorf("lacks %s:\n%s", want, body)
		}
	}
	// The enrolment confirmation leads to the route's target.
	body = get(t, s, Answer{Code: Enrolled, Next: "/account"}, nil).Body.String()
	if !strings.Contains(body, `<a class="button" href="/account">Continue</a>`) {
		t.Errorf("enrolled:\n%s", body)
	}
	// A deny does not send people to the passkey help; the step-up page
	// offers it to whoever cannot use their passkey.
	if body = get(t, s, Answer{Code: Denied}, nil).Body.String(); strings.Contains(body, "help.example.com") {
		t.Errorf("denied:\n%s", body)
	}
	if b, _ := s.RenderStepUp(StepUp{Mode: ModeLogin, Base: "/verify"}); !strings.Contains(string(b), `<a href="https://help.example.com/passkeys">Can't use your passkey?</a>`) {
		t.Errorf("step-up page:\n%s", b)
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{Logo: "https://cdn.example.com/logo.png"}, {Logo: "//evil/x.png"}, {SignInURL: "javascript:alert(1)"},
		{HelpURL: "http://help.example.com"}, {HelpURL: "javascript:x"}, {Lang: `en" onload="x`}, {Dir: "/nonexistent"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestOverrideDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("notice.html", `{{define "main"}}<h1 class="mine">{{.Title}}</h1><p>{{.Message}}</p>{{if eq .Code "rate_limited"}}<p>wait {{.RetryIn}}</p>{{end}}{{end}}`)
	write("style.css", `body { color: black; }`)
	s, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, s, Answer{Code: RateLimited, RetryAfter: time.Minute}, nil)
	if body := w.Body.String(); !strings.Contains(body, `<h1 class="mine">Too many attempts</h1>`) || !strings.Contains(body, "wait 1 minute") || !strings.Contains(body, "body { color: black; }") {
		t.Fatalf("override:\n%s", body)
	}
	assertCSPAllowsStyle(t, w.Header().Get("Content-Security-Policy"), w.Body.String())

	// The step-up page still comes from the built-in stepup.html.
	b, err := s.RenderStepUp(StepUp{Mode: ModeLogin, Base: "/verify"})
	if err != nil || !strings.Contains(string(b), `id="login-guard-start"`) {
		t.Fatalf("%v\n%s", err, b)
	}

	write("notice.html", `{{define "main"}}{{.Nope}}{{end}}`)
	if _, err := New(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("a template naming an unknown field: %v", err)
	}
	write("notice.html", `{{define "main"}}{{if}}{{end}}`)
	if _, err := New(Options{Dir: dir}); err == nil {
		t.Fatal("a template syntax error was accepted")
	}
	_ = os.Remove(filepath.Join(dir, "notice.html"))
	write("notices.html", `x`)
	if _, err := New(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "notices.html") {
		t.Fatalf("a misspelt file: %v", err)
	}
	_ = os.Remove(filepath.Join(dir, "notices.html"))
	write("style.css", `</style><script>alert(1)</script>`)
	if _, err := New(Options{Dir: dir}); err == nil {
		t.Fatal("a style.css closing the element was accepted")
	}
}

func TestStepUpPage(t *testing.T) {
	s := Default()
	b, err := s.RenderStepUp(StepUp{Mode: ModeLogin, Base: "/verify", User: "jlopez", Methods: []string{"passkey", "selfie"}})
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`<title>Confirm it&#39;s you</title>`, `<script src="/verify/stepup.js" defer></script>`, `data-mode="login"`,
		`data-base="/verify"`, `data-methods="passkey selfie"`, `data-user="jlopez"`, `id="login-guard-start"`, `id="login-guard-selfie-start"`,
		`<form id="login-guard-complete" method="post" action="/verify/complete" hidden>`} {
		if !strings.Contains(page, want) {
			t.Errorf("lacks %s", want)
		}
	}
	if strings.Contains(page, "login-guard-loginid") {
		t.Error("offers loginid")
	}
	r := httptest.NewRequest(http.MethodGet, "/verify", nil)
	w := httptest.NewRecorder()
	if err := s.WriteStepUp(w, r, StepUp{Mode: ModeEnroll, Base: "/verify", Done: "/verify/enrolled"}); err != nil {
		t.Fatal(err)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(w.Body.String(), `data-done="/verify/enrolled"`) {
		t.Fatalf("%s\n%s", csp, w.Body)
	}
	for _, st := range []StepUp{{Mode: ModeLogin, Base: "//evil.com"}, {Mode: ModeLogin, Base: "/v", ScriptURL: "https://cdn/x.js"}, {Mode: ModeEnroll, Base: "/v", Done: "https://evil/"}, {Mode: "x", Base: "/v"}} {
		if _, err := s.RenderStepUp(st); err == nil {
			t.Errorf("%+v rendered", st)
		}
	}
}

// TestStepUpPageFormAction: the completion form of a step-up page whose
// login is on another host redirects there, so that origin joins 'self'
// in form-action; anything that could end the directive is left out.
func TestStepUpPageFormAction(t *testing.T) {
	s := Default()
	formAction := func(origin string) string {
		t.Helper()
		w := httptest.NewRecorder()
		if err := s.WriteStepUp(w, httptest.NewRequest(http.MethodGet, "/verify", nil), StepUp{Mode: ModeLogin, Base: "/verify", FormAction: origin}); err != nil {
			t.Fatal(err)
		}
		for _, d := range strings.Split(w.Header().Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "form-action") {
				return d
			}
		}
		t.Fatal("no form-action")
		return ""
	}
	for origin, want := range map[string]string{
		"":                                      "form-action 'self'",
		"https://app.example.com":               "form-action 'self' https://app.example.com",
		"https://app.example.com:8443":          "form-action 'self' https://app.example.com:8443",
		"https://x.example.com; script-src *":   "form-action 'self'",
		"https://x.example.com 'unsafe-inline'": "form-action 'self'",
	} {
		if got := formAction(origin); got != want {
			t.Errorf("%q: %q, want %q", origin, got, want)
		}
	}
}

func TestRetryIn(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1 second", time.Second: "1 second", 59 * time.Second: "59 seconds", time.Minute: "1 minute",
		90 * time.Second: "2 minutes", time.Hour: "60 minutes", time.Hour + 1: "2 hours", 24 * time.Hour: "24 hours"} {
		if got := RetryIn(d); got != want {
			t.Errorf("%v: %q want %q", d, got, want)
		}
	}
}

// TestRetryAfterValue: the Retry-After value is whole seconds rounded up,
// its boxed form the same text, and a wait under the shared bound is made
// once and handed to every later refusal, while a longer one is still
// formatted correctly.
func TestRetryAfterValue(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{time.Nanosecond, "1"}, {time.Second, "1"}, {time.Second + 1, "2"}, {59*time.Minute + 30*time.Second, "3570"},
		{(maxSharedRetry - 1) * time.Second, strconv.Itoa(maxSharedRetry - 1)},
		{maxSharedRetry * time.Second, strconv.Itoa(maxSharedRetry)}, {48 * time.Hour, "172800"},
	} {
		v := RetryAfter(c.d)
		if v.Text != c.want || v.Boxed != any(c.want) {
			t.Errorf("%v: %q %v, want %q", c.d, v.Text, v.Boxed, c.want)
		}
		shared := RetryAfterSeconds(c.d) < maxSharedRetry
		if again := RetryAfter(c.d); (again == v) != shared {
			t.Errorf("%v: shared %v, want %v", c.d, again == v, shared)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = RetryAfter(90 * time.Second) }); n != 0 {
		t.Errorf("a shared value allocates %v times", n)
	}
}

// TestStepUpPageForAnOperation: a step-up for an operation says so (and
// to leave it unconfirmed if the person did not just ask for anything),
// not "finish signing in"; the script is told too.
func TestStepUpPageForAnOperation(t *testing.T) {
	s := Default()
	render := func(op bool) string {
		t.Helper()
		w := httptest.NewRecorder()
		if err := s.WriteStepUp(w, httptest.NewRequest(http.MethodGet, "/verify", nil), StepUp{Mode: ModeLogin, Base: "/verify", User: "alice", Operation: op}); err != nil {
			t.Fatal(err)
		}
		return w.Body.String()
	}
	op, login := render(true), render(false)
	for _, want := range []string{"carry out the request you just made", "do not confirm it", `data-operation="1"`, `id="login-guard-start"`} {
		if !strings.Contains(op, want) {
			t.Errorf("operation page lacks %s", want)
		}
	}
	if strings.Contains(op, "finish signing in") || !strings.Contains(login, "finish signing in") || strings.Contains(login, "data-operation") {
		t.Errorf("pages:\n%s\n---\n%s", op, login)
	}
}
