package stepup

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

//go:embed assets/stepup.js
var assets embed.FS

// Page modes for PageData.Mode.
const (
	ModeLogin  = "login"  // passkey assertion, then completion
	ModeEnroll = "enroll" // passkey registration
	ModeNotice = ""       // message only (the generic refusal page)
)

// ScriptContentType is the Content-Type to serve Script() with.
const ScriptContentType = "text/javascript; charset=utf-8"

// PageData is what an operator's own step-up page template (the
// page_template option) receives; the built-in page is internal/pages'
// theme. The template may use any of these fields:
//
//	.Title     heading and <title>
//	.Lang      the <html lang> value (default "en")
//	.Mode      "login" (passkey assertion), "enroll" (registration) or ""
//	           (a notice: .Message only)
//	.Base      path prefix of the JSON endpoints: the script POSTs to
//	           .Base+"/passkey/begin", "/passkey/finish",
//	           "/passkey/register/begin", "/passkey/register/finish", and
//	           submits the form #login-guard-complete to .Base+"/complete"
//	.ScriptURL URL of the script (default .Base+"/stepup.js")
//	.Done      enroll mode: where to go after registering (optional)
//	.Message   a short notice, e.g. the generic refusal text
//	.Methods   login mode: the factors offered ("passkey", "selfie",
//	           "loginid"); enroll mode: what may be registered ("passkey",
//	           and "loginid" where the route enrols LoginID credentials,
//	           `loginid { require_enrolment }`); empty means passkey.
//	           {{if .Offers "selfie"}} tests one. The script reads them
//	           from data-methods.
//	.User      the user name being confirmed (login mode) or enrolled
//	           (enroll mode) (data-user), which the loginid hooks receive
//
// Selfie (Smile ID): the script captures frames from the front camera
// (getUserMedia, #login-guard-video) when #login-guard-selfie-start is
// clicked, POSTs {"selfie": base64 JPEG, "liveness": [base64 JPEG…]} to
// .Base+"/selfie/submit", then polls .Base+"/selfie/status" until the
// answer's "state" is authenticated (it submits the completion form),
// rejected or unknown.
//
// LoginID: the LoginID SDK is the operator's to load (the page's CSP allows
// only its own script). The operator's page defines
//
//	window.loginGuardLoginID = function (username) { … return Promise<jwt> }
//
// which runs LoginID's DirectWeb authentication for username and resolves
// to the JWT it returns; #login-guard-loginid starts it and the script
// POSTs {"jwt": …} to .Base+"/loginid/finish". On the enrolment page
// (enroll mode offering "loginid") it defines
//
//	window.loginGuardLoginIDRegister = function (username) { … return Promise<jwt> }
//
// which runs DirectWeb's registration (dw.register) and resolves to its
// JWT; #login-guard-loginid starts it: the script first POSTs to
// .Base+"/loginid/register/begin" (the guard says whether this account
// may register, and asks a passkey of the account to confirm when it has
// one), then calls the hook and POSTs {"jwt": …} to
// .Base+"/loginid/register/finish".
//
// The script finds its elements by id: #login-guard-step-up (with
// data-mode, data-base, data-done), #login-guard-start (the button),
// #login-guard-status and #login-guard-complete (the completion form).
// It sends the header "X-Login-Guard: 1" on every JSON call, which a
// cross-origin page cannot send without a CORS preflight; the Caddy module should
// require it.
type PageData struct {
	Title     string
	Lang      string
	Mode      string
	Base      string
	ScriptURL string
	Done      string
	Message   string
	Methods   []string
	User      string
	// Operation: the page confirms an operation (a payment, a change of
	// details), not a sign-in.
	Operation bool
}

// Offers reports whether the page offers method; no Methods means the
// passkey alone, as before methods could be chosen.
func (d PageData) Offers(method string) bool {
	if len(d.Methods) == 0 {
		return method == "passkey"
	}
	for _, m := range d.Methods {
		if m == method {
			return true
		}
	}
	return false
}

// MethodList is Methods as the space-separated data-methods value.
func (d PageData) MethodList() string {
	if len(d.Methods) == 0 {
		return "passkey"
	}
	return strings.Join(d.Methods, " ")
}

// Page is a parsed step-up page template.
type Page struct{ t *template.Template }

// ParsePage parses an operator's template and renders it once with sample
// data, so a typo in a field name fails at config load, not on a user.
func ParsePage(src string) (*Page, error) {
	t, err := template.New("stepup").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("stepup: page template: %w", err)
	}
	p := &Page{t: t}
	for _, mode := range []string{ModeLogin, ModeEnroll, ModeNotice} {
		if err := p.Render(io.Discard, PageData{Title: "t", Mode: mode, Base: "/step_up", Done: "/", Message: "m", Methods: []string{"passkey", "selfie", "loginid"}, User: "u"}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// LoadPage reads and parses a template file.
func LoadPage(path string) (*Page, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("stepup: page template: %w", err)
	}
	return ParsePage(string(src))
}

// Render writes the page. It renders into a buffer first so a failing
// template never leaves a half-written response. Base, ScriptURL and Done
// must be same-origin paths.
func (p *Page) Render(w io.Writer, d PageData) error {
	if d.Lang == "" {
		d.Lang = "en"
	}
	if d.ScriptURL == "" {
		d.ScriptURL = d.Base + "/stepup.js"
	}
	if d.Mode != ModeLogin && d.Mode != ModeEnroll && d.Mode != ModeNotice {
		return fmt.Errorf("stepup: unknown page mode %q", d.Mode)
	}
	for _, u := range []string{d.Base, d.ScriptURL} {
		if err := ValidateTarget(u, nil); err != nil {
			return fmt.Errorf("stepup: page URL: %w", err)
		}
	}
	if d.Done != "" {
		if err := ValidateTarget(d.Done, nil); err != nil {
			return fmt.Errorf("stepup: page done URL: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := p.t.Execute(&buf, d); err != nil {
		return fmt.Errorf("stepup: page template: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Script is the step-up page's JavaScript.
func Script() []byte {
	b, err := assets.ReadFile("assets/stepup.js")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// PageCSP allows the page its own script and same-origin fetches and form
// posts, and nothing else.
const PageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ReturnOrigin is the origin ("https://host[:port]") of a completion's
// return URL when it is on another host (a step-up on its own host sends
// the browser back to the login's host), or "" for a path on this site
// and for anything that is not a plain https URL. Browsers check every
// redirect of a form submission against the page's form-action, so the
// step-up page must allow that origin there (PageCSPFor), or the
// completion's redirect to the login is blocked and the browser stays on
// the page.
func ReturnOrigin(ret string) string {
	if ret == "" || ret[0] == '/' {
		return ""
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	for i := 0; i < len(u.Host); i++ {
		switch c := u.Host[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return "" // nothing that could end a CSP source or directive
		}
	}
	return "https://" + u.Host
}

// PageCSPFor is PageCSP with returnOrigin (a ReturnOrigin) also allowed
// as a form's target; PageCSP itself when it is "".
func PageCSPFor(returnOrigin string) string {
	if returnOrigin == "" {
		return PageCSP
	}
	return strings.Replace(PageCSP, "form-action 'self'", "form-action 'self' "+returnOrigin, 1)
}

// SetPageHeaders sets the headers every step-up page and endpoint answer
// carries: no referrer (the state must not leak in a Referer), no caching,
// no framing, no sniffing, and PageCSP on HTML.
func SetPageHeaders(h http.Header, html bool) {
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	if html {
		h.Set("Content-Security-Policy", PageCSP)
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
}
