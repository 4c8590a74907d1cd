package request

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// TestReadStepCookieNames: over TLS a step-up cookie counts under its
// __Host- name, and under __Secure- (which any host of a shared domain can
// set) only for the cookies a step-up on another host shares; over plain
// http under its bare name only.
func TestReadStepCookieNames(t *testing.T) {
	cases := []struct {
		tls    bool
		cookie string
		base   string
		want   string
	}{
		{true, "__Host-login_guard_enrol=a", CookieEnrol, "a"},
		{true, "__Secure-login_guard_enrol=a", CookieEnrol, ""},
		{true, "__Secure-login_guard_factor=a", CookieFactor, ""},
		{true, "__Secure-login_guard_ceremony=a", CookieCeremony, ""},
		{true, "login_guard_stepup=a", CookieState, ""},
		{true, "__Secure-login_guard_stepup=a", CookieState, "a"},
		{true, "__Secure-login_guard_continue=a", CookieContinue, "a"},
		{true, "__Secure-login_guard_pass=a", CookiePass, "a"},
		{true, "__Secure-login_guard_stepup=b; __Host-login_guard_stepup=a", CookieState, "a"},
		{false, "login_guard_enrol=a", CookieEnrol, "a"},
		{false, "__Host-login_guard_enrol=a", CookieEnrol, ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/verify", nil)
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		r.Header.Set("Cookie", c.cookie)
		if got := ReadStepCookie(r, c.base); got != c.want {
			t.Errorf("tls=%v %q as %s: %q, want %q", c.tls, c.cookie, c.base, got, c.want)
		}
	}
}
