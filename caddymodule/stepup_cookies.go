package caddymodule

import (
	"net/http"
	"strconv"
	"time"
)

// Step-up cookies. Over TLS each is a __Host- cookie (Secure, Path=/, no
// Domain: no sibling subdomain can plant or read it); over plain http (a
// test or a demo on localhost, where browsers refuse Secure cookies from
// http) the same name without the prefix. The state cookie for a step_up
// on another host is __Secure- with the configured Domain instead.
const (
	cookieState    = "login_guard_stepup"   // the step-up state
	cookieFactor   = "login_guard_factor"   // the factor passed, for the completion
	cookieContinue = "login_guard_continue" // one-time continuation after completion
	cookiePass     = "login_guard_pass"     // one-time resubmit pass
	cookieCeremony = "login_guard_ceremony" // passkey ceremony id
	cookieEnrol    = "login_guard_enrol"    // admin enrolment link token
	cookieEnrolled = "login_guard_enrolled" // shows the enrolment confirmation once
	cookieSelfie   = "login_guard_selfie"   // the Smile ID job bound to the state
)

// stepCookie builds a step-up cookie. SameSite=Strict: every step of the
// flow is a same-site navigation or fetch, and a cross-site page must not
// be able to drive it.
func stepCookie(r *http.Request, base, value string, maxAge time.Duration, domain string) *http.Cookie {
	return guardCookie(r, base, value, maxAge, domain, http.SameSiteStrictMode)
}

// guardCookie builds every cookie the guard sets: HttpOnly, Path=/, Secure
// and __Host- (or __Secure- with a Domain) over TLS, the bare name over
// plain http; a negative maxAge deletes it.
func guardCookie(r *http.Request, base, value string, maxAge time.Duration, domain string, sameSite http.SameSite) *http.Cookie {
	c := &http.Cookie{
		Name:     base,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: sameSite,
		MaxAge:   int(maxAge / time.Second),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	switch {
	case domain != "":
		c.Domain = domain
		if r.TLS != nil {
			c.Name = "__Secure-" + base
		}
	case r.TLS != nil:
		c.Name = "__Host-" + base
	}
	return c
}

func setStepCookie(hdr http.Header, r *http.Request, base, value string, maxAge time.Duration) {
	hdr.Add("Set-Cookie", guardCookieLine(r, base, value, maxAge, http.SameSiteStrictMode))
}

func clearStepCookie(hdr http.Header, r *http.Request, base string) {
	hdr.Add("Set-Cookie", guardCookieLine(r, base, "", -1, http.SameSiteStrictMode))
}

// guardCookieLine is guardCookie(r, base, value, maxAge, "",
// sameSite).String() built in one allocation. A value the fast path cannot
// vouch for (one net/http would quote or sanitise) takes net/http's path.
func guardCookieLine(r *http.Request, base, value string, maxAge time.Duration, sameSite http.SameSite) string {
	if !plainCookieValue(value) {
		return guardCookie(r, base, value, maxAge, "", sameSite).String()
	}
	b := make([]byte, 0, len(base)+len(value)+80)
	b = appendCookieName(b, r, base)
	b = append(b, value...)
	return string(appendCookieAttrs(b, r, maxAge, sameSite))
}

// appendCookieName appends the name guardCookie gives base when no Domain
// is set, and the '='.
func appendCookieName(b []byte, r *http.Request, base string) []byte {
	if r.TLS != nil {
		b = append(b, "__Host-"...)
	}
	b = append(b, base...)
	return append(b, '=')
}

// appendCookieAttrs appends what net/http's Cookie.String writes after
// the value of a guardCookie with no Domain.
func appendCookieAttrs(b []byte, r *http.Request, maxAge time.Duration, sameSite http.SameSite) []byte {
	b = append(b, "; Path=/"...)
	switch secs := int64(maxAge / time.Second); {
	case maxAge < 0:
		b = append(b, "; Max-Age=0"...)
	case secs > 0:
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, secs, 10)
	}
	b = append(b, "; HttpOnly"...)
	if r.TLS != nil {
		b = append(b, "; Secure"...)
	}
	switch sameSite {
	case http.SameSiteLaxMode:
		b = append(b, "; SameSite=Lax"...)
	case http.SameSiteStrictMode:
		b = append(b, "; SameSite=Strict"...)
	case http.SameSiteNoneMode:
		b = append(b, "; SameSite=None"...)
	}
	return b
}

// plainCookieValue reports whether net/http writes value as it is: every
// byte a cookie-octet (RFC 6265), and no space or comma, which it would
// quote. Tokens (base64url) and the guard's ids always are.
func plainCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

// readStepCookie finds a step-up cookie under any name it may carry. Over
// TLS only the prefixed names count: a plain cookie could have been
// planted over http or by a sibling host.
func readStepCookie(r *http.Request, base string) string {
	names := []string{base}
	if r.TLS != nil {
		names = []string{"__Host-" + base, "__Secure-" + base}
	}
	for _, n := range names {
		if v, ok := requestCookie(r, n); ok && v != "" {
			return v
		}
	}
	return ""
}

// isStepCookie reports whether a request cookie is one of the guard's
// step-up cookies, which a replayed login must not carry to the upstream.
func isStepCookie(name string) bool {
	for _, base := range []string{cookieState, cookieFactor, cookieContinue, cookiePass, cookieCeremony, cookieEnrol, cookieSelfie} {
		if name == base || name == "__Host-"+base || name == "__Secure-"+base {
			return true
		}
	}
	return false
}
