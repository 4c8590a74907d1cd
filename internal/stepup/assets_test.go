package stepup

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func render(t *testing.T, p *Page, d PageData) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// operatorPage is a page_template as an operator writes it: the page the
// guard shipped before its theme moved to internal/pages.
func operatorPage(t *testing.T) *Page {
	t.Helper()
	p, err := LoadPage("testdata/operator_page.html")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOperatorPageLogin(t *testing.T) {
	out := render(t, operatorPage(t), PageData{Title: "Confirm <sign-in>", Mode: ModeLogin, Base: "/login_guard/step_up"})
	for _, want := range []string{
		`<title>Confirm &lt;sign-in&gt;</title>`,
		`<script src="/login_guard/step_up/stepup.js" defer></script>`,
		`data-mode="login"`,
		`data-base="/login_guard/step_up"`,
		`id="login-guard-start"`,
		`<form id="login-guard-complete" method="post" action="/login_guard/step_up/complete" hidden>`,
		`<meta name="referrer" content="no-referrer">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s\n%s", want, out)
		}
	}
	assertNoInlineCode(t, out)
}

func TestOperatorPageEnrollAndNotice(t *testing.T) {
	out := render(t, operatorPage(t), PageData{Title: "Passkey", Mode: ModeEnroll, Base: "/lg", Done: "/account"})
	if !strings.Contains(out, `data-mode="enroll"`) || !strings.Contains(out, `data-done="/account"`) || !strings.Contains(out, "Register a passkey") {
		t.Fatalf("enroll page:\n%s", out)
	}
	assertNoInlineCode(t, out)
	out = render(t, operatorPage(t), PageData{Title: "Sorry", Base: "/lg", Message: "This link is no longer valid."})
	if strings.Contains(out, "login-guard-start") || !strings.Contains(out, "This link is no longer valid.") {
		t.Fatalf("notice page:\n%s", out)
	}
}

// assertNoInlineCode checks the page works under script-src 'self': no
// inline script, no event handler attributes, no javascript: URLs, and no
// external origin.
func assertNoInlineCode(t *testing.T, html string) {
	t.Helper()
	if regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`).MatchString(html) {
		t.Error("inline script")
	}
	if regexp.MustCompile(`(?i)\son[a-z]+\s*=`).MatchString(html) {
		t.Error("event handler attribute")
	}
	if strings.Contains(strings.ToLower(html), "javascript:") || strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(html, "style") {
		t.Error("external resource, inline style or javascript: URL")
	}
}

func TestRenderRefusesUnsafeURLs(t *testing.T) {
	p := operatorPage(t)
	for _, d := range []PageData{
		{Mode: ModeLogin, Base: "//evil.com"},
		{Mode: ModeLogin, Base: "/lg", ScriptURL: "https://cdn.example/x.js"},
		{Mode: ModeEnroll, Base: "/lg", Done: "https://evil.com/"},
		{Mode: "other", Base: "/lg"},
	} {
		var b bytes.Buffer
		if err := p.Render(&b, d); err == nil || b.Len() != 0 {
			t.Errorf("%+v rendered (%d bytes)", d, b.Len())
		}
	}
}

func TestParsePage(t *testing.T) {
	p, err := ParsePage(`<p>{{.Title}}</p><main id="login-guard-step-up" data-base="{{.Base}}"></main>`)
	if err != nil {
		t.Fatal(err)
	}
	if out := render(t, p, PageData{Title: "Hi", Base: "/x"}); out != `<p>Hi</p><main id="login-guard-step-up" data-base="/x"></main>` {
		t.Fatalf("got %s", out)
	}
	if _, err := ParsePage(`{{.Nope}}`); err == nil {
		t.Fatal("unknown field accepted at parse time")
	}
	if _, err := ParsePage(`{{if}}`); err == nil {
		t.Fatal("syntax error accepted")
	}
	if _, err := LoadPage("/nonexistent/stepup.html"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestScript(t *testing.T) {
	js := string(Script())
	for _, want := range []string{
		`"/passkey/begin"`, `"/passkey/finish"`, `"/passkey/register/begin"`, `"/passkey/register/finish"`,
		`"/passkey/confirm/begin"`, `"/passkey/confirm/finish"`,
		`"login-guard-complete"`, `"X-Login-Guard": "1"`, "navigator.credentials.get", "navigator.credentials.create",
		"attestationObject", "authenticatorData", "userHandle", "clientDataJSON",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("script lacks %s", want)
		}
	}
	if strings.Contains(js, "http://") || strings.Contains(js, "https://") || strings.Contains(js, "eval(") {
		t.Error("script loads or evaluates something external")
	}
}

func TestSetPageHeaders(t *testing.T) {
	h := http.Header{}
	SetPageHeaders(h, true)
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("headers %v", h)
	}
	j := http.Header{}
	SetPageHeaders(j, false)
	if j.Get("Referrer-Policy") != "no-referrer" || j.Get("Content-Security-Policy") != "" {
		t.Fatalf("headers %v", j)
	}
}

// TestReturnOrigin: a completion that sends the browser back to the login
// on another host names that origin for the page's form-action; a path on
// this site, or anything but a plain https URL, names none.
func TestReturnOrigin(t *testing.T) {
	for ret, want := range map[string]string{
		"/api/login":                              "",
		"/api/login?next=/x":                      "",
		"":                                        "",
		"https://app.example.com/api/login":       "https://app.example.com",
		"https://App.Example.com:8443/a?b=c":      "https://App.Example.com:8443",
		"http://app.example.com/api/login":        "",
		"https://user@app.example.com/api/login":  "",
		"https://app.example.com;x/api/login":     "",
		"https://app.example.com,x.com/api/login": "",
		"javascript:alert(1)":                     "",
	} {
		if got := ReturnOrigin(ret); got != want {
			t.Errorf("ReturnOrigin(%q) = %q, want %q", ret, got, want)
		}
	}
	if PageCSPFor("") != PageCSP {
		t.Error("no origin: PageCSP changed")
	}
	if got := PageCSPFor("https://app.example.com"); got != strings.Replace(PageCSP, "form-action 'self';", "form-action 'self' https://app.example.com;", 1) || got == PageCSP {
		t.Errorf("PageCSPFor: %q", got)
	}
}
