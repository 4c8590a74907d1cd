//go:build browser

package pages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	_ "github.com/login-guard/login_guard"
	"github.com/login-guard/login_guard/examples/portal"
	testbrowser "github.com/login-guard/login_guard/internal/testkit/browser"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// TestMain keeps Caddy's autosave and storage out of the developer's home.
func TestMain(m *testing.M) { caddytest.Main(m) }

// demo is the repository's demo (the root Caddyfile in front of the
// example portal) on loopback ports.
type demo struct {
	base  string // http://localhost:<port>
	admin string // http://127.0.0.1:<admin port>
}

// startDemo runs the root Caddyfile as the demo does, with its addresses
// moved to free loopback ports and its storage and log in a temp dir.
func startDemo(t *testing.T) *demo {
	t.Helper()
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	d := &demo{base: fmt.Sprintf("http://localhost:%d", port), admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort)}

	p := portal.New()
	p.EnrolLinkAdmin = d.admin
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	raw, err := os.ReadFile("../../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	for _, r := range []struct{ old, new string }{
		{"admin localhost:2019", fmt.Sprintf("admin 127.0.0.1:%d\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput file %s\n\t\tformat json\n\t}",
			adminPort, filepath.Join(dir, "storage"), filepath.Join(dir, "caddy.log"))},
		{":8080 {", fmt.Sprintf("http://localhost:%d {\n\tbind 127.0.0.1", port)},
		{"rp_origin http://localhost:8080", fmt.Sprintf("rp_origin http://localhost:%d", port)},
		{"reverse_proxy 127.0.0.1:9000", "reverse_proxy " + ln.Addr().String()},
	} {
		if !strings.Contains(src, r.old) {
			t.Fatalf("the demo Caddyfile no longer has %q", r.old)
		}
		src = strings.Replace(src, r.old, r.new, 1)
	}
	if err := caddy.Load(caddytest.Adapt(t, src), true); err != nil {
		t.Fatalf("loading the demo: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return d
}

// adminPost calls the guard's admin API.
func (d *demo) adminCall(t *testing.T, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, d.admin+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

// clearLimits lifts the login route's limits on the browser's address
// and on these users, so the scenarios do not spend each other's attempts.
func (d *demo) clearLimits(t *testing.T, users ...string) {
	t.Helper()
	d.adminCall(t, http.MethodDelete, "/login_guard/limits?route=login&ip=127.0.0.1", "")
	for _, u := range users {
		d.adminCall(t, http.MethodDelete, "/login_guard/limits?route=login&user="+url.QueryEscape(u), "")
	}
}

// enrolLink asks the admin API for a one-time enrolment link.
func (d *demo) enrolLink(t *testing.T, user string) string {
	t.Helper()
	var out struct{ Link string }
	if err := json.Unmarshal([]byte(d.adminCall(t, http.MethodPost, "/login_guard/passkeys/enrol_link", `{"user":"`+user+`"}`)), &out); err != nil || out.Link == "" {
		t.Fatalf("enrol link: %v %+v", err, out)
	}
	return d.base + out.Link
}

// browser starts headless Chromium with a virtual authenticator and the
// viewport the screenshots are taken at.
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx, _ := testbrowser.Start(t, 3*time.Minute)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(800, 720)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// act makes a step of a func.
func act(f func(ctx context.Context, tg *chromedp.Target) error) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, f(ctx, tg)
	}
}

func clearCookies() chromedp.Action[chromedp.Void] {
	return act(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	})
}

// login types the password on the portal's own form, as a person does.
func login(base, user, pass string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), pass),
		chromedp.Submit(chromedp.ID("login")),
	)
}

// heading waits for the page whose <h1> holds text.
func heading(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//h1[contains(., %q)]`, text)))
}

// page is what a guard page must show.
type page struct {
	name    string // screenshot name
	status  int
	title   string // <title> (the portal's name is appended)
	heading string
	says    string // a phrase of the message
	dark    bool   // the browser prefers a dark colour scheme
}

// ruleWords are what no page may say: rule kinds, engines, reasons.
var ruleWords = regexp.MustCompile(`(?i)lockout|locked|rate_|deny_ip|sandbox_|engine|\brule|score|forter|smartid|smile ?id`)

// checkPage checks the page the browser is on: status, title, heading,
// message, no rule names, the theme's style applied under the CSP, no
// serious accessibility violation, and the screenshot.
func checkPage(t *testing.T, ctx context.Context, p page) {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, heading(p.heading)); err != nil {
		t.Fatalf("%s: no heading %q: %v\n%s", p.name, p.heading, err, pageStatus(ctx))
	}
	type facts struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		H1     string `json:"h1"`
		Text   string `json:"text"`
		Lang   string `json:"lang"`
		Bg     string `json:"bg"`
	}
	f, err := chromedp.Run(ctx, chromedp.Evaluate[facts](`({
		status: performance.getEntriesByType("navigation")[0].responseStatus,
		title: document.title,
		h1: document.querySelector("h1").textContent,
		text: document.body.innerText,
		lang: document.documentElement.lang,
		bg: getComputedStyle(document.body).backgroundColor,
	})`))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	if f.Status != p.status || f.Title != p.title+" · Example Portal" || f.H1 != p.heading || !strings.Contains(f.Text, p.says) || f.Lang != "en" {
		t.Errorf("%s: status %d, title %q, h1 %q, lang %q, text:\n%s", p.name, f.Status, f.Title, f.H1, f.Lang, f.Text)
	}
	if m := ruleWords.FindString(f.Text + " " + f.Title); m != "" {
		t.Errorf("%s: the page says %q", p.name, m)
	}
	// The theme's <style> ran under the page's CSP (style-src hash).
	if want := map[bool]string{false: "rgb(243, 244, 246)", true: "rgb(17, 24, 39)"}[p.dark]; f.Bg != want {
		t.Errorf("%s: body background %q: the theme's style did not apply", p.name, f.Bg)
	}
	// The portal's logo loads under the CSP (img-src 'self') and names
	// the portal for a screen reader.
	logo, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const img = document.querySelector("header .brand img");
		if (!img) { return Promise.resolve("no logo"); }
		return img.decode().then(() => img.naturalWidth > 0 ? img.alt : "empty", () => "failed to load");
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || logo != "Example Portal" {
		t.Errorf("%s: logo: %q %v", p.name, logo, err)
	}
	checkAxe(t, ctx, p.name)
	checkScreenshot(t, ctx, p.name)
}

func pageStatus(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(c, chromedp.Location())
	if err != nil {
		return "page unavailable: " + err.Error()
	}
	text, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("body")))
	return "at " + loc + ": " + text
}

// TestBrowserPages walks the demo in headless Chromium through every
// answer a person can meet: deny, lockout, rate limit, a step-up without
// a passkey, the help page and enrolment link, enrolment and its
// confirmation, the step-up itself, and each refusal of the step-up and
// enrolment pages.
func TestBrowserPages(t *testing.T) {
	d := startDemo(t)
	ctx := browser(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(step, steps...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, pageStatus(ctx))
		}
	}
	html := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// A refused login.
	run("deny", clearCookies(), login(d.base, "sandbox-deny", "sandbox"))
	denied := page{"denied", 403, "Sign-in not possible", "Sign-in not possible", "We couldn't complete this request.", false}
	checkPage(t, ctx, denied)
	denyHTML := html()

	// A lockout reads exactly like any other deny.
	for i := range 5 {
		run(fmt.Sprintf("wrong password %d", i), login(d.base, "bob", "wrong"), chromedp.WaitVisible(chromedp.ID("failed")))
	}
	run("lockout", login(d.base, "bob", "builder"), heading(denied.heading))
	if got := html(); got != denyHTML {
		t.Errorf("the lockout page differs from the deny page:\n%s\n---\n%s", got, denyHTML)
	}
	d.clearLimits(t, "bob")

	// A challenged login without a passkey: what to do next, and a link.
	run("challenge without passkey", clearCookies(), login(d.base, "sandbox-challenge", "sandbox"))
	checkPage(t, ctx, page{"no_factor", 403, "Set up a passkey to continue", "Set up a passkey to continue", "Follow the link below", false})

	// The help link leads to the portal's help page, which (in the demo)
	// gets an enrolment link; the link opens the registration page.
	run("help page", chromedp.Click(chromedp.CSS("a.button")), heading("Setting up a passkey"),
		chromedp.Submit(chromedp.ID("enrol-link")))
	checkPage(t, ctx, page{"enrol", 200, "Register a passkey", "Register a passkey", "there is no code to type", false})
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != d.base+"/verify/enrol" {
		t.Errorf("the enrolment link stayed in the address bar: %s", loc)
	}

	// Registering shows a confirmation, which leads on to the portal.
	run("register", chromedp.Click(chromedp.ID("login-guard-start")))
	checkPage(t, ctx, page{"enrolled", 200, "Passkey registered", "Passkey registered", "Your passkey is ready.", false})
	run("continue", chromedp.Click(chromedp.CSS("a.button")), chromedp.WaitVisible(chromedp.ID("login")))

	// Now the challenged login is confirmed with the passkey.
	run("challenge", login(d.base, "sandbox-challenge", "sandbox"))
	checkPage(t, ctx, page{"stepup", 200, "Confirm it's you", "Confirm it's you", "please confirm it's you to finish signing in as sandbox-challenge", false})
	run("step-up", chromedp.Click(chromedp.ID("login-guard-start")), chromedp.WaitVisible(chromedp.ID("welcome")))

	// A sign-in that needed a step-up cannot add a passkey: said as such.
	run("enrol after a step-up", chromedp.Navigate(d.base+"/verify/enrol"))
	checkPage(t, ctx, page{"enrol_not_allowed", 403, "A passkey can't be added from this sign-in", "A passkey can't be added from this sign-in", "can't be used to register a passkey", false})

	// The step-up page with nothing to confirm.
	run("nothing to confirm", chromedp.Navigate(d.base+"/verify"))
	checkPage(t, ctx, page{"step_up_missing", 403, "Nothing to confirm", "Nothing to confirm", "no sign-in waiting to be confirmed", false})

	// The registration page without a sign-in.
	run("enrol signed out", clearCookies(), chromedp.Navigate(d.base+"/verify/enrol"))
	checkPage(t, ctx, page{"enrol_sign_in", 403, "Sign in to register a passkey", "Sign in to register a passkey", "sign in to your account first", false})

	// An enrolment link used twice.
	link := d.enrolLink(t, "alice")
	run("alice's link", chromedp.Navigate(link), heading("Register a passkey"), chromedp.Click(chromedp.ID("login-guard-start")), heading("Passkey registered"))
	run("alice's link again", chromedp.Navigate(link))
	checkPage(t, ctx, page{"enrol_link_used", 403, "This link was already used", "This link was already used", "Each enrolment link works only once.", false})

	// A step-up state that was tampered with.
	run("challenge", clearCookies(), login(d.base, "sandbox-challenge", "sandbox"), heading("Confirm it's you"))
	run("tamper", act(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{d.base + "/"}})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == "login_guard_stepup" {
				yes := true
				v := []byte(c.Value)
				v[len(v)/2] ^= 1
				_, err = cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: string(v), URL: d.base + "/", HTTPOnly: &yes, SameSite: network.CookieSameSiteStrict})
				return err
			}
		}
		return fmt.Errorf("no state cookie")
	}), chromedp.Reload())
	checkPage(t, ctx, page{"step_up_failed", 403, "We couldn't confirm it's you", "We couldn't confirm it's you", "The confirmation didn't succeed", false})

	// A step-up continued from another browser.
	run("challenge", clearCookies(), login(d.base, "sandbox-challenge", "sandbox"), heading("Confirm it's you"))
	run("other browser", act(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 (another browser)"})
		return err
	}), chromedp.Reload())
	checkPage(t, ctx, page{"step_up_moved", 403, "Please sign in again", "Please sign in again", "same browser, on the same network", false})
	run("browser back", act(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ""})
		return err
	}))

	// Too many attempts from one address: the page says when to retry.
	d.clearLimits(t, "nobody")
	for i := range 10 {
		resp, err := http.PostForm(d.base+"/api/login", url.Values{"username": {"nobody"}, "password": {fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	run("rate limited", clearCookies(), login(d.base, "alice", "wonderland"))
	checkPage(t, ctx, page{"rate_limited", 429, "Too many attempts", "Too many attempts", "You can try again in", false})
	d.clearLimits(t, "nobody")

	// The deny page on a phone-sized screen.
	run("phone", chromedp.EmulateViewport(390, 760, chromedp.EmulateMobile), clearCookies(), login(d.base, "sandbox-deny", "sandbox"))
	denied.name = "denied_phone"
	checkPage(t, ctx, denied)

	checkFont(t, ctx)

	// The dark scheme, for whoever prefers it: same checks, its own colours.
	run("dark", chromedp.EmulateViewport(800, 720), act(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}), clearCookies(), chromedp.Navigate(d.base+"/verify/enrol"))
	checkPage(t, ctx, page{"enrol_sign_in_dark", 403, "Sign in to register a passkey", "Sign in to register a passkey", "sign in to your account first", true})
}

// checkFont makes the screenshots reproducible: the theme's font stack
// must resolve to DejaVu Sans, which CI installs (fonts-dejavu-core).
func checkFont(t *testing.T, ctx context.Context) {
	t.Helper()
	fonts, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]string, error) {
		if _, err := cdp.Call(ctx, tg, dom.Enable, dom.EnableParams{}); err != nil {
			return nil, err
		}
		if _, err := cdp.Call(ctx, tg, css.Enable, cdp.Empty{}); err != nil {
			return nil, err
		}
		doc, err := cdp.Call(ctx, tg, dom.GetDocument, dom.GetDocumentParams{})
		if err != nil {
			return nil, err
		}
		n, err := cdp.Call(ctx, tg, dom.QuerySelector, dom.QuerySelectorParams{NodeID: doc.Root.NodeID, Selector: "main p"})
		if err != nil {
			return nil, err
		}
		res, err := cdp.Call(ctx, tg, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: n.NodeID})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, f := range res.Fonts {
			out = append(out, f.FamilyName)
		}
		return out, nil
	})
	if err != nil || len(fonts) == 0 || fonts[0] != "DejaVu Sans" {
		t.Errorf("the page's text is set in %v (%v), want DejaVu Sans", fonts, err)
	}
}
