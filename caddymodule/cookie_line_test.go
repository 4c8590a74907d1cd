package caddymodule

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGuardCookieLineMatchesNetHTTP: the one-allocation Set-Cookie line is
// byte for byte what net/http writes for the same cookie, over TLS and
// plain http, for setting and deleting, in every SameSite mode, and for
// values net/http would quote or sanitise (which take its path).
func TestGuardCookieLineMatchesNetHTTP(t *testing.T) {
	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	secure := httptest.NewRequest(http.MethodGet, "/", nil)
	secure.TLS = &tls.ConnectionState{}
	values := []string{"", "abc-DEF_123", "a b", "a,b", `a"b`, "a;b", "é", "x\\y"}
	ages := []time.Duration{-1, 0, 500 * time.Millisecond, time.Minute, 30 * 24 * time.Hour}
	modes := []http.SameSite{http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode}
	for _, r := range []*http.Request{plain, secure} {
		for _, v := range values {
			for _, age := range ages {
				for _, m := range modes {
					want := guardCookie(r, cookieState, v, age, "", m).String()
					if got := guardCookieLine(r, cookieState, v, age, m); got != want {
						t.Errorf("tls=%v value=%q age=%v mode=%v:\n got %q\nwant %q", r.TLS != nil, v, age, m, got, want)
					}
				}
			}
		}
	}
}

// TestSessionCookieSealedInPlace: the session cookie, its token sealed
// straight into the line, is what net/http writes for that token, and
// opens to the session it carries.
func TestSessionCookieSealedInPlace(t *testing.T) {
	h := testHandler(t, &Handler{Name: "login", Event: EventLogin})
	for _, tlsOn := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		x := &exchange{h: h, start: time.Now()}
		hdr := http.Header{}
		if err := x.setSessionCookie(r, hdr, guardSession{User: "jlopez", Session: "s1"}); err != nil {
			t.Fatal(err)
		}
		line := hdr.Get("Set-Cookie")
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		ttl := time.Duration(h.app.Session.TTL)
		if want := guardCookie(r, plainSessionCookie, c.Value, ttl, "", http.SameSiteLaxMode).String(); line != want {
			t.Fatalf("got  %q\nwant %q", line, want)
		}
		if tlsOn != strings.HasPrefix(c.Name, "__Host-") {
			t.Fatalf("name %q over tls=%v", c.Name, tlsOn)
		}
		var s guardSession
		if err := h.app.keyset().Open(sessionPurpose, c.Value, time.Now(), &s); err != nil || s.User != "jlopez" || s.Session != "s1" {
			t.Fatalf("opened %+v, %v", s, err)
		}
	}
}

// TestGuardSessionBinary: the session's binary form round-trips, and any
// truncation or trailing byte is refused.
func TestGuardSessionBinary(t *testing.T) {
	for _, s := range []guardSession{
		{},
		{User: "jlopez", Session: "s1", LoginAt: 1764500000, SteppedUp: true},
		{User: "ünïcode user", Session: strings.Repeat("x", 300), LoginAt: -1},
	} {
		b, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got guardSession
		if err := got.UnmarshalBinary(b); err != nil || got != s {
			t.Fatalf("round trip %+v: got %+v, %v", s, got, err)
		}
		for i := range len(b) {
			if err := got.UnmarshalBinary(b[:i]); err == nil {
				t.Fatalf("%+v truncated to %d bytes was accepted", s, i)
			}
		}
		if err := got.UnmarshalBinary(append(b, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
	if err := new(guardSession).UnmarshalBinary([]byte{1, 0, 0, 0, 2}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

// TestRequestCookieMatchesNetHTTP: the allocation-free lookup finds what
// r.Cookie finds, in well-formed and odd Cookie headers alike.
func TestRequestCookieMatchesNetHTTP(t *testing.T) {
	headers := [][]string{
		nil,
		{"login_guard=abc"},
		{"a=1; login_guard=abc; b=2"},
		{"a=1", "login_guard=second-line"},
		{`login_guard="quoted"`},
		{`login_guard="half`},
		{"login_guard=bad\\value; login_guard=good"},
		{"login_guard=has space"},
		{"  login_guard  =padded ; x=y"},
		{"login_guard="},
		{"login_guard"},
		{"xlogin_guard=no; login_guardx=no"},
		{"login_guard=a=b"},
		{"login_guard=ü"},
		{";;;login_guard=after-empties;"},
	}
	for _, h := range headers {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, line := range h {
			r.Header.Add("Cookie", line)
		}
		want, werr := r.Cookie(plainSessionCookie)
		got, found := requestCookie(r, plainSessionCookie)
		if found != (werr == nil) || (found && got != want.Value) {
			t.Errorf("%q: got %q,%v; net/http %v,%v", h, got, found, want, werr)
		}
	}
}
