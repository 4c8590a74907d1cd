package forter

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var f Forter
	d := caddyfile.NewTestDispenser("forter fr {\n\tsite_id site123\n\tapi_key {env.FORTER_API_KEY}\n\ttimeout 3s\n\ton_not_reviewed challenge\n\tauth_result_key additionalAuthenticationMethod\n}")
	if err := f.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if f.Name != "fr" || f.SiteID != "site123" || f.APIKey != "{env.FORTER_API_KEY}" || time.Duration(f.Timeout) != 3*time.Second ||
		f.OnNotReviewed != "challenge" || f.AuthResultKey != "additionalAuthenticationMethod" {
		t.Fatalf("parsed %+v", f)
	}
	for _, c := range []struct{ in, want string }{
		{"forter a b {\n}", "Testfile:1"},
		{"forter {\n\tsite_id s\n\tsite_id t\n\tapi_key k\n}", "forter: site_id given twice, at Testfile:3"},
		{"forter {\n\tsite_id s\n\tapi_key\n}", "forter: api_key has no value (if it comes from {$VAR}, that variable is not set), at Testfile:3"},
		{"forter {\n\tsite_id s t\n\tapi_key k\n}", `unexpected argument "t", at Testfile:2`},
		{"forter {\n\tsite_id s\n\tapi_key k\n\ttimeout soon\n}", `timeout: "soon" must be a positive duration of at most 30s, at Testfile:4`},
		{"forter {\n\tsite_id s\n\tapi_key k\n\ttimeout 300m\n}", `timeout: "300m" must be a positive duration of at most 30s, at Testfile:4`},
		{"forter {\n\tsite_id s\n\tapi_key k\n\ton_not_reviewed maybe\n}", `forter: on_not_reviewed: unknown action "maybe"`},
		{"forter {\n\tsite_id s\n\tapi_key k\n\tretries 3\n}", `forter: unknown option "retries", at Testfile:4`},
		{"forter {\n\tsite_id s\n}", "forter: site_id and api_key are required"},
	} {
		var f Forter
		err := f.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}
