package caddymodule

import (
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/rules"
)

// TestPublishedPlaceholdersAreStrings: the verdict placeholders hold
// plain strings, which is what Caddy's expression matcher and templates
// can read.
func TestPublishedPlaceholdersAreStrings(t *testing.T) {
	h := testHandler(t, &Handler{Name: "login", Event: EventLogin})
	for _, c := range []struct {
		reasons       []string
		action        rules.Action
		wantAction    string
		wantReasonLst string
	}{
		{nil, rules.Allow, "allow", ""},
		{[]string{"ip_denied"}, rules.Deny, "deny", "ip_denied"},
		{[]string{"rate_ip", "device_missing"}, rules.Challenge, "challenge", "rate_ip,device_missing"},
	} {
		r := request(http.MethodPost, "/api/login", "", "")
		x := &exchange{h: h}
		x.verdict = rules.Verdict{Action: c.action, Reasons: c.reasons}
		x.publish(r)
		repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		for name, want := range map[string]string{"route": "login", "action": c.wantAction, "reasons": c.wantReasonLst} {
			v, _ := repl.Get("http.login_guard." + name)
			if s, ok := v.(string); !ok || s != want {
				t.Errorf("%s: %#v, want the string %q", name, v, want)
			}
		}
	}
}
