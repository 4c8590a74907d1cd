package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestStepUpReplayAfterARewrite: with a rewrite before the guard (here
// `uri strip_prefix`), the browser is sent back to the URL it used, and
// the held login is replayed to the portal at the URL the first pass
// would have forwarded: the rewritten one.
func TestStepUpReplayAfterARewrite(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := strings.Replace(fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr()), "{{listen}} {\n", "{{listen}} {\n\turi strip_prefix /portal\n", 1)
	g := caddytest.Start(t, stepUpGlobal, site)
	c := newStepClient(t, g, "198.51.100.7")
	form := "application/x-www-form-urlencoded"
	resp, _ := c.do("POST", "/portal/api/login?lang=en", form, challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	passFactor(t, g, c)
	resp, _ = c.do("POST", "/verify/complete", form, "", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/portal/api/login?lang=en" {
		t.Fatalf("complete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = c.do("POST", "/portal/api/login?lang=en", form, "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("continuation: %d; the portal got %+v", resp.StatusCode, upstream.All())
	}
	up := upstream.All()
	if len(up) != 1 || up[0].Path != "/api/login" || up[0].RawQuery != "lang=en" || string(up[0].Body) != challengedForm {
		t.Fatalf("the portal got %+v", up)
	}
}
