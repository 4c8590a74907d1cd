package formbody

import (
	"net/http"
	"net/url"
)

// PageRequest reports whether r carries nothing any framework reads a
// login from, so that a login route may pass it as the login page rather
// than refuse it as a login without a user: its method is exactly GET,
// HEAD or OPTIONS, it has no body (no Content-Length above zero, not
// chunked), no Authorization header, none of headers (a route's LoginID
// assertion header), and no name in its query string or its cookies that
// some framework reads as a guarded field or a password field (names
// compared as the policy compares them, nameKey; cookie names also
// percent-decoded, as PHP decodes them).
//
// Any other request may be a login to some framework: Django, Werkzeug,
// Symfony and ASP.NET Core read the method ignoring case (post is POST);
// Caddy's php_fastcgi upper-cases every method but GET, HEAD and OPTIONS
// spelt so, and sends a GET spelt otherwise (get, Get) as POST; and a
// handler that takes every method (a Django view, a PHP script, a Rack
// app under map, a servlet) may read a JSON body or the query string
// whatever the method.
func PageRequest(r *http.Request, spec *Spec, headers ...string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if r.ContentLength != 0 || len(r.Header["Authorization"]) > 0 {
		return false
	}
	for _, h := range headers {
		if h != "" && len(r.Header.Values(h)) > 0 {
			return false
		}
	}
	s := *spec
	s.setDefaults()
	if r.URL != nil && r.URL.RawQuery != "" {
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return false
		}
		for name := range query {
			if s.namesGuarded(name) {
				return false
			}
		}
	}
	for name := range cookiePairs(r.Header["Cookie"]) {
		if name == "" {
			continue
		}
		if s.namesGuarded(name) {
			return false
		}
		if decoded, err := url.QueryUnescape(name); err == nil && decoded != name && s.namesGuarded(decoded) {
			return false
		}
	}
	return true
}

// namesGuarded reports whether some framework could read name as a
// guarded field or a password field, or as a part of one.
func (s *Spec) namesGuarded(name string) bool {
	nk, nu := nameKey(name, true), nameKey(name, false)
	for i := range s.guardedCount() {
		g := s.guarded(i)
		if keysOverlap(nk, nameKey(g, true)) || keysOverlap(nu, nameKey(g, false)) {
			return true
		}
	}
	return false
}
