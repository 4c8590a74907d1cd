package caddymodule_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
	"github.com/login-guard/login_guard/internal/testkit/ports"
)

// TestEnrolLinkBase: the admin API builds an enrolment link only on a
// base a step-up route of the running config serves (here /verify* on
// the site http://localhost:<port>): its path, or a URL on the site's
// host; any other path, a query or fragment, another host, or a
// scheme other than https (http on loopback) is a 400 naming base.
func TestEnrolLinkBase(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	g, admin, host, _ := enrolAdminGuard(t, upstream)
	link := func(base string) (int, map[string]string) {
		t.Helper()
		var out map[string]string
		st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", fmt.Sprintf(`{"user":"sandbox-challenge","base":%q}`, base), &out)
		return st, out
	}
	site := "http://" + host["Host"]
	for base, want := range map[string]string{
		"/verify":         "/verify/enrol?t=",
		"/verify/":        "/verify/enrol?t=",
		site + "/verify":  site + "/verify/enrol?t=",
		site + "/verify/": site + "/verify/enrol?t=",
		"":                "/verify/enrol?t=",
		"http://LOCALHOST:" + strings.Split(host["Host"], ":")[1] + "/verify": site + "/verify/enrol?t=",
	} {
		if base == "" {
			var out map[string]string
			if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge"}`, &out); st != http.StatusOK || !strings.HasPrefix(out["link"], want) {
				t.Errorf("no base: %d %v", st, out)
			}
			continue
		}
		if st, out := link(base); st != http.StatusOK || !strings.HasPrefix(out["link"], want) {
			t.Errorf("base %q: %d %v, want a link starting %q", base, st, out, want)
		}
	}
	for base, why := range map[string]string{
		"/elsewhere":                             "no step-up route of the running config serves /elsewhere/enrol",
		"/account":                               "no step-up route of the running config serves /account/enrol",
		"/verify?next=https://evil.example":      "the path must be like /verify",
		"/verify#":                               "the path must be like /verify",
		"/verify/../api/login":                   "no . or .. segment",
		"https://evil.example/verify":            "on host evil.example",
		"http://evil.example/verify":             "must be https",
		"https://" + host["Host"] + "/verify?t=": "no user info, query or fragment",
		"verify":                                 "want the step-up route's path, like /verify",
	} {
		var apiErr struct {
			Error string `json:"error"`
		}
		st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", fmt.Sprintf(`{"user":"sandbox-challenge","base":%q}`, base), &apiErr)
		if st != http.StatusBadRequest || !strings.Contains(apiErr.Error, why) || !strings.HasPrefix(apiErr.Error, fmt.Sprintf("base %q: ", base)) {
			t.Errorf("base %q: %d %q, want 400 naming base and %q", base, st, apiErr.Error, why)
		}
	}

	// A link on the site's URL opens like the relative one.
	_, out := link(site + "/verify")
	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("GET", strings.TrimPrefix(out["link"], site), "", "", host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify/enrol" || c.cookie("login_guard_enrol") == "" {
		t.Fatalf("the link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestEnrolLinkBaseUnderHandlePath: a step-up route under a handle_path
// (handle_path /portal/* { handle /verify* { login_guard { event step_up
// } } }) serves /portal/verify, so the admin API builds links on that
// base, and the link opens the enrolment page; /verify, which reaches no
// step-up route, is refused. The base check had matched the path before
// the prefix was stripped and refused every base of such a config.
func TestEnrolLinkBaseUnderHandlePath(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	dir := t.TempDir()
	port, adminPort := ports.Free(t), ports.Free(t)
	src := browserCaddyfile(dir, port, upstream.Listener.Addr().String(), "\t\tengines sandbox\n\t\tstep_up /portal/verify")
	src = strings.Replace(src, "admin off", fmt.Sprintf("admin 127.0.0.1:%d", adminPort), 1)
	const stepUp = "\thandle /verify* {\n\t\tlogin_guard {\n\t\t\tevent step_up\n\t\t\tmethods passkey\n\t\t\tenrol_done /account\n\t\t}\n\t}\n"
	if !strings.Contains(src, stepUp) {
		t.Fatal("the step-up route is not where the test expects it")
	}
	src = strings.Replace(src, stepUp, "\thandle_path /portal/* {\n\t\thandle /verify* {\n\t\t\tlogin_guard {\n\t\t\t\tevent step_up\n"+
		"\t\t\t\tmethods passkey\n\t\t\t\tenrol_done /account\n\t\t\t}\n\t\t}\n\t}\n", 1)
	loadCaddyfile(t, src)
	t.Cleanup(func() { _ = caddy.Stop() })
	g := &caddytest.Guarded{URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: filepath.Join(dir, "caddy.log"), Client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	host := map[string]string{"Host": fmt.Sprintf("localhost:%d", port)}
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)

	var out map[string]string
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge","base":"/portal/verify"}`, &out); st != http.StatusOK || !strings.HasPrefix(out["link"], "/portal/verify/enrol?t=") {
		t.Fatalf("base /portal/verify: %d %v", st, out)
	}
	c := newStepClient(t, g, "198.51.100.7")
	resp, _ := c.do("GET", out["link"], "", "", host)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/verify/enrol" || c.cookie("login_guard_enrol") == "" {
		t.Fatalf("the link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.do("GET", "/portal/verify/enrol", "", "", host)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-mode="enroll"`) {
		t.Fatalf("the enrolment page: %d", resp.StatusCode)
	}

	var apiErr struct {
		Error string `json:"error"`
	}
	if st := adminCall(t, http.MethodPost, admin+"/login_guard/passkeys/enrol_link", `{"user":"sandbox-challenge","base":"/verify"}`, &apiErr); st != http.StatusBadRequest || !strings.Contains(apiErr.Error, "no step-up route of the running config serves /verify/enrol") {
		t.Fatalf("base /verify: %d %q", st, apiErr.Error)
	}
}
