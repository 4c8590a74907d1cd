package smileid

import (
	"strings"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	for _, u := range []string{"https://example.com/cb", "https://example.com"} {
		if err := CheckHTTPSURL("callback_url", u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://example.com/cb", "https://u:p@example.com/cb", "https://example.com/cb?x=1", "https://example.com/cb#f", "https:///cb", "%"} {
		if err := CheckHTTPSURL("callback_url", u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := CheckResultCodes([]string{"1220", "0810"}); err != nil {
		t.Errorf("codes refused: %v", err)
	}
	for _, c := range []string{"122", "12x0", "12200", "١٢٢٠"} {
		if err := CheckResultCodes([]string{"1220", c}); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
}

// TestCheckServerAndLimits: a JSON smileid block is held to the
// Caddyfile's rules: a server word other than sandbox or production (which
// would silently mean the sandbox), server with base_url, negative or
// oversized limits.
func TestCheckServerAndLimits(t *testing.T) {
	for _, c := range []struct {
		server, base string
		want         string
	}{
		{"", "", ""}, {"sandbox", "", ""}, {"production", "", ""}, {"", "https://proxy.example", ""},
		{"prod", "", `server must be sandbox or production, not "prod"`},
		{"production", "https://proxy.example", "give server or base_url, not both"},
	} {
		err := CheckServer(c.server, c.base)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckServer(%q, %q) = %v, want %q", c.server, c.base, err, c.want)
		}
	}
	h := time.Hour
	for _, c := range []struct {
		user, ip Rate
		keys     int
		want     string
	}{
		{Rate{}, Rate{}, 0, ""},
		{Rate{N: 0, Window: h}, Rate{N: MaxRateN, Window: h}, MaxLimitKeys, ""},
		{Rate{N: -1, Window: h}, Rate{}, 0, "user_limit must be from 0 to 1000000, not -1"},
		{Rate{}, Rate{N: MaxRateN + 1, Window: h}, 0, "ip_limit must be from 0 to 1000000"},
		{Rate{N: 5, Window: -h}, Rate{}, 0, "user_limit_window must be a positive duration of at most 720h0m0s, not -1h0m0s"},
		{Rate{N: 5, Window: MaxRateWindow}, Rate{N: 5, Window: MaxRateWindow}, 0, ""},
		{Rate{}, Rate{N: 5, Window: MaxRateWindow + time.Second}, 0, "ip_limit_window must be a positive duration of at most 720h0m0s, not 720h0m1s"},
		{Rate{}, Rate{}, -5, "limit_keys must be from 1 to 10000000, not -5"},
		{Rate{}, Rate{}, MaxLimitKeys + 1, "limit_keys must be from 1 to 10000000"},
	} {
		err := CheckLimits(c.user, c.ip, c.keys)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckLimits(%+v, %+v, %d) = %v, want %q", c.user, c.ip, c.keys, err, c.want)
		}
	}
}
