package httpengine

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	var h HTTP
	d := caddyfile.NewTestDispenser("http scoring {\n\turl http://127.0.0.1:9/score\n\theader authorization \"Bearer {env.RISK_TOKEN}\"\n\theader X-Tenant a\n\ttimeout 1s\n}")
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if h.Name != "scoring" || h.URL != "http://127.0.0.1:9/score" || time.Duration(h.Timeout) != time.Second ||
		len(h.Headers) != 2 || h.Headers["Authorization"] != "Bearer {env.RISK_TOKEN}" || h.Headers["X-Tenant"] != "a" {
		t.Fatalf("parsed %+v", h)
	}
	for _, c := range []struct{ in, want string }{
		{"http {\n\turl http://x\n}", "http engine: a name is required (http <name> { ... }), at Testfile:1"},
		{"http s extra {\n\turl http://x\n}", "Testfile:1"},
		{"http s {\n\turl http://x\n\turl http://y\n}", "http engine: url given twice, at Testfile:3"},
		{"http s {\n\turl http://x\n\theader A 1\n\theader a 2\n}", "http engine: header A given twice, at Testfile:4"},
		{"http s {\n\turl http://x\n\theader A 1 2\n}", "Testfile:3"},
		{"http s {\n\turl http://x\n\ttimeout -1s\n}", `timeout: "-1s" must be a positive duration of at most 30s, at Testfile:3`},
		{"http s {\n\turl http://x\n\ttimeout 300m\n}", `timeout: "300m" must be a positive duration of at most 30s, at Testfile:3`},
		{"http s {\n\turl http://x\n\tretries 3\n}", `http engine: unknown option "retries", at Testfile:3`},
		{"http s {\n\ttimeout 1s\n}", "http engine: url is required"},
	} {
		var h HTTP
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}
