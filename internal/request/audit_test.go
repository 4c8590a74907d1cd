package request

import (
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestHostLogged: the guard asks whether Caddy writes an access line for
// a host by Caddy's own rule (a mapped host is logged, else one in
// skip_hosts is not, else any unless skip_unmapped_hosts), so audit_line
// access_log never counts on a line Caddy does not write.
func TestHostLogged(t *testing.T) {
	mapped := &caddyhttp.ServerLogConfig{
		LoggerNames:       map[string]caddyhttp.StringArray{"login.example.com": {"log0"}, "*.example.net": {"log1"}},
		SkipHosts:         []string{"static.example.com", "*.example.net"},
		SkipUnmappedHosts: true,
	}
	open := &caddyhttp.ServerLogConfig{SkipHosts: []string{"static.example.com", "*.cdn.example.com"}}
	for _, c := range []struct {
		logs *caddyhttp.ServerLogConfig
		host string
		want bool
	}{
		{mapped, "login.example.com", true},
		{mapped, "login.example.com:8443", true},
		{mapped, "a.example.net", true}, // mapped wins over skip_hosts, as in Caddy
		{mapped, "static.example.com", false},
		{mapped, "other.example.com", false}, // unmapped, skipped
		{open, "other.example.com", true},
		{open, "static.example.com:443", false},
		{open, "img.cdn.example.com", false},
		{open, "[::1]:443", true},
		{open, "", true},
	} {
		if got := hostLogged(c.logs, c.host); got != c.want {
			t.Errorf("%q: logged = %v, want %v", c.host, got, c.want)
		}
	}
}
