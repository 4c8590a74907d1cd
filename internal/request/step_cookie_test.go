package request

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// TestReadStepCookieNames: over TLS a step-up cookie counts under its
// __Host- name only (any host of a shared domain can set a __Secure- one);
// over plain http under its bare name only.
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
		// The state is read under __Secure- only by ReadSharedStepCookie,
		// whose caller checks the state records a shared domain.
		{true, "__Secure-login_guard_stepup=a", CookieState, ""},
		{true, "__Secure-login_guard_continue=a", CookieContinue, ""},
		{true, "__Secure-login_guard_pass=a", CookiePass, ""},
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

// TestReadSharedStepCookie: the name a step-up on another host gives the
// state cookie, over TLS only.
func TestReadSharedStepCookie(t *testing.T) {
	for _, c := range []struct {
		tls          bool
		cookie, want string
	}{
		{true, "__Secure-login_guard_stepup=a", "a"},
		{true, "__Host-login_guard_stepup=a", ""},
		{true, "login_guard_stepup=a", ""},
		{false, "login_guard_stepup=a", ""},
		{false, "__Secure-login_guard_stepup=a", ""},
	} {
		r := httptest.NewRequest("GET", "/verify", nil)
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		r.Header.Set("Cookie", c.cookie)
		if got := ReadSharedStepCookie(r, CookieState); got != c.want {
			t.Errorf("tls=%v %q: %q, want %q", c.tls, c.cookie, got, c.want)
		}
	}
}

// TestReadLoginStepCookie: a login route reads the continuation and the
// pass a step-up on another host set under __Secure- only when it shares
// that step-up's cookie domain; its own __Host- cookie always.
func TestReadLoginStepCookie(t *testing.T) {
	for _, c := range []struct {
		cookie, domain, want string
	}{
		{"__Host-login_guard_continue=a", "", "a"},
		{"__Host-login_guard_continue=a", "example.com", "a"},
		{"__Secure-login_guard_continue=b", "", ""},
		{"__Secure-login_guard_continue=b", "example.com", "b"},
		{"__Secure-login_guard_continue=b; __Host-login_guard_continue=a", "example.com", "a"},
	} {
		r := httptest.NewRequest("GET", "/api/login", nil)
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Cookie", c.cookie)
		if got := ReadLoginStepCookie(r, CookieContinue, c.domain); got != c.want {
			t.Errorf("%q, domain %q: %q, want %q", c.cookie, c.domain, got, c.want)
		}
	}
}
