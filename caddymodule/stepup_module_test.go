package caddymodule_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestSavedStepUpRouteStillLoads: a config saved before the step-up route
// became its own module holds it as {"handler":"login_guard",
// "event":"step_up",...}. It must still load, and serve the step-up page
// for a login the login route challenged.
func TestSavedStepUpRouteStillLoads(t *testing.T) {
	upstream := caddytest.NewRecorder(t, portalFake())
	site := fmt.Sprintf(stepUpSite, "", upstream.Listener.Addr())
	edited := false
	g := caddytest.StartEdited(t, stepUpGlobal, site, func(cfg []byte) []byte {
		old := []byte(`"handler":"login_guard_step_up"`)
		edited = bytes.Contains(cfg, old)
		return bytes.Replace(cfg, old, []byte(`"event":"step_up","handler":"login_guard"`), 1)
	})
	if !edited {
		t.Fatal("the adapted config holds no step-up module to turn into the saved form")
	}
	c := newStepClient(t, g, "198.51.100.9")
	resp, _ := c.do("POST", "/api/login", "application/x-www-form-urlencoded", challengedForm, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/verify" {
		t.Fatalf("challenge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.do("GET", "/verify", "", "", nil)
	// The user has no passkey: the page itself answers, having opened the
	// state the login route issued.
	lines := g.AuditLines(t)
	last := lines[len(lines)-1]
	if resp.StatusCode != http.StatusForbidden || last["event"] != "step_up" || last["route"] != "step_up" ||
		fmt.Sprint(last["reasons"]) != "[step_up_no_credentials]" || !strings.Contains(body, "<html") {
		t.Fatalf("step-up page through the saved config: %d, audit %v", resp.StatusCode, last)
	}
}

// TestSavedStepUpRouteRefusesLoginFields: fields that never applied to the
// step-up route are refused when a saved config carries them, with their
// name, rather than silently dropped.
func TestSavedStepUpRouteRefusesLoginFields(t *testing.T) {
	cfg := caddytest.Adapt(t, "{\n\tlogin_guard {\n\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n\t}\n}\n:8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t}\n}\n")
	saved := bytes.Replace(cfg, []byte(`"handler":"login_guard_step_up"`), []byte(`"engines":["sandbox"],"event":"step_up","handler":"login_guard"`), 1)
	err := validateJSON(saved)
	if err == nil || !strings.Contains(err.Error(), "engines") {
		t.Fatalf("a saved step-up route with engines: %v", err)
	}
}

// TestStepUpRouteRefusesLoginOptions: the Caddyfile's step-up block takes
// only the step-up route's options; the others are refused with the line.
func TestStepUpRouteRefusesLoginOptions(t *testing.T) {
	for _, c := range []struct{ opt, want string }{
		{"engines sandbox", "Caddyfile:5: unknown subdirective \"engines\" on the step-up route"},
		{"assertion required", "Caddyfile:5: unknown subdirective \"assertion\" on the step-up route"},
		{"lockout ip 5/1m for 10m", "Caddyfile:5: unknown subdirective \"lockout\" on the step-up route"},
		{"device missing deny", "Caddyfile:5: unknown subdirective \"device\" on the step-up route"},
		{"step_up /verify", "Caddyfile:5: unknown subdirective \"step_up\" on the step-up route"},
	} {
		cfg := ":8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t\tmethods passkey\n\t\t" + c.opt + "\n\t}\n}\n"
		_, _, err := adaptErr(cfg)
		checkAdaptErr(t, err, c.want)
	}
	// And the login route refuses the step-up route's options.
	_, _, err := adaptErr(":8080 {\n\tlogin_guard {\n\t\tevent login\n\t\tmethods passkey\n\t}\n}\n")
	checkAdaptErr(t, err, "Caddyfile:4: methods belongs on the step-up route")
}

// TestStepUpRouteChecksPrefixesInJSON: a JSON config skips the
// Caddyfile's checks; a prefix the issuer cannot use is refused when the
// config loads, not when the first state is opened.
func TestStepUpRouteChecksPrefixesInJSON(t *testing.T) {
	cfg := caddytest.Adapt(t, "{\n\tlogin_guard {\n\t\tpasskeys {\n\t\t\trp_id localhost\n\t\t\trp_origin http://localhost\n\t\t}\n\t}\n}\n:8080 {\n\tlogin_guard /verify* {\n\t\tevent step_up\n\t}\n\tlogin_guard /login {\n\t\tevent login\n\t\tstep_up /verify\n\t}\n}\n")
	if err := validateJSON(cfg); err != nil {
		t.Fatalf("the config as adapted: %v", err)
	}
	for _, c := range []struct{ handler, want string }{
		{`"handler":"login_guard_step_up"`, `route "step_up": ip_prefix: stepup: IPv4 prefix /99 out of range 8..32`},
		{`"handler":"login_guard"`, `route "login": ip_prefix: stepup: IPv4 prefix /99 out of range 8..32`},
	} {
		bad := bytes.Replace(cfg, []byte(c.handler), []byte(c.handler+`,"ip_prefix_v4":99`), 1)
		if bytes.Equal(bad, cfg) {
			t.Fatalf("no %s in the adapted config", c.handler)
		}
		if err := validateJSON(bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with ip_prefix_v4 99: %v, want %q", c.handler, err, c.want)
		}
	}
}
