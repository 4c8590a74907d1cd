package request

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
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
					want := GuardCookie(r, CookieState, v, age, "", m).String()
					if got := GuardCookieLine(r, CookieState, v, age, m); got != want {
						t.Errorf("tls=%v value=%q age=%v mode=%v:\n got %q\nwant %q", r.TLS != nil, v, age, m, got, want)
					}
				}
			}
		}
	}
}
