package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// stepUpRoute stands for the step-up route's handler.
type stepUpRoute struct{}

func (stepUpRoute) ServesStepUp() bool { return true }
func (stepUpRoute) ServeHTTP(http.ResponseWriter, *http.Request, caddyhttp.Handler) error {
	return nil
}

// served is a config with a step-up route under /verify on the site
// auth.example.com and under /lg/verify on a catch-all site.
func served() map[string]*caddyhttp.Server {
	under := func(path string) caddyhttp.Route {
		return caddyhttp.Route{
			MatcherSets: caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchPath{path}}},
			Handlers:    []caddyhttp.MiddlewareHandler{stepUpRoute{}},
		}
	}
	site := caddyhttp.Route{
		MatcherSets: caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchHost{"auth.example.com"}}},
		Handlers:    []caddyhttp.MiddlewareHandler{&caddyhttp.Subroute{Routes: caddyhttp.RouteList{under("/verify*")}}},
	}
	return map[string]*caddyhttp.Server{
		"srv0": {Routes: caddyhttp.RouteList{site}},
		"srv1": {Routes: caddyhttp.RouteList{under("/lg/verify*")}},
	}
}

// TestEnrolBase: an enrolment link is built only on a base a step-up
// route of the running config serves: its path, or an https URL on a
// host a site names (http and a catch-all site only on loopback).
func TestEnrolBase(t *testing.T) {
	for _, c := range []struct{ base, want string }{
		{"/verify", "/verify"},
		{"/verify/", "/verify"},
		{"/lg/verify", "/lg/verify"},
		{"https://auth.example.com/verify", "https://auth.example.com/verify"},
		{"https://AUTH.example.com/verify/", "https://auth.example.com/verify"},
		{"https://auth.example.com:8443/verify", "https://auth.example.com:8443/verify"},
		{"http://localhost:8080/lg/verify", "http://localhost:8080/lg/verify"},
		{"http://127.0.0.1/lg/verify", "http://127.0.0.1/lg/verify"},
		{"https://[::1]:8443/lg/verify", "https://[::1]:8443/lg/verify"},
	} {
		got, err := enrolBase(c.base, served())
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.base, got, err, c.want)
		}
	}
	for _, c := range []struct{ base, why string }{
		{"verify", "want the step-up route's path"},
		{"/", "the path must be like /verify"},
		{"/elsewhere", "no step-up route of the running config serves /elsewhere/enrol"},
		{"/verify?next=https://evil.example/", "the path must be like /verify"},
		{"/verify#", "the path must be like /verify"},
		{"/verify/../redirect", "no . or .. segment"},
		{"/verify/%2e%2e/redirect", "the path must be like /verify"},
		{"//evil.example/verify", "the path must be like /verify"},
		{"/verify\\evil", "the path must be like /verify"},
		{"https://evil.example/verify", "no step-up route of the running config serves /verify/enrol on host evil.example"},
		{"https://evil.example/lg/verify", "on host evil.example"},
		{"https://auth.example.com/lg/verify", "on host auth.example.com"},
		{"http://auth.example.com/verify", "must be https"},
		{"javascript:alert(1)", "want the step-up route's path"},
		{"ftp://auth.example.com/verify", "must be https"},
		{"https://user@auth.example.com/verify", "no user info"},
		{"https://auth.example.com/verify?x=1", "no user info, query or fragment"},
		{"https://auth.example.com/verify#x", "no user info, query or fragment"},
		{"https://auth.example.com", "the path must be like /verify"},
		{"https:///verify", "want the step-up route's path"},
	} {
		if got, err := enrolBase(c.base, served()); err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%q: %q %v, want a refusal with %q", c.base, got, err, c.why)
		}
	}
	if _, err := enrolBase("/verify", nil); err == nil {
		t.Error("a config without an http app: /verify accepted")
	}
}
