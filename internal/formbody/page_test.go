package formbody

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageRequest: only a GET, HEAD or OPTIONS spelt so, without a body,
// an Authorization header, the route's assertion header, or a name in
// the query string or the cookies that a framework reads as a guarded or
// password field, is the login page.
func TestPageRequest(t *testing.T) {
	devise := Spec{UserField: "user[email]", PasswordFields: []string{"user[password]"}, UniqueFields: []string{"loginid_jwt"}}
	cases := []struct {
		name, method, target, body string
		header                     http.Header
		spec                       Spec
		page                       bool
	}{
		{name: "GET", method: "GET", target: "/login", page: true},
		{name: "HEAD", method: "HEAD", target: "/login", page: true},
		{name: "OPTIONS", method: "OPTIONS", target: "/login", page: true},
		{name: "next", method: "GET", target: "/login?next=%2Fa&lang=en", page: true},
		{name: "session cookies", method: "GET", target: "/login", header: http.Header{"Cookie": {"sessionid=1; csrftoken=2", "theme=dark"}}, page: true},
		{name: "post", method: "post", target: "/login"},
		{name: "Get", method: "Get", target: "/login"},
		{name: "POST", method: "POST", target: "/login"},
		{name: "PUT", method: "PUT", target: "/login"},
		{name: "body", method: "GET", target: "/login", body: "x"},
		{name: "authorization", method: "GET", target: "/login", header: http.Header{"Authorization": {"Basic eDp5"}}},
		{name: "assertion header", method: "GET", target: "/login", header: http.Header{"X-Loginid": {"jwt"}}},
		{name: "user in query", method: "GET", target: "/login?username=a"},
		{name: "empty user in query", method: "GET", target: "/login?username="},
		{name: "device in query", method: "GET", target: "/login?smartid_data=a"},
		{name: "password in query", method: "GET", target: "/login?password=a"},
		{name: "bracketed user in query", method: "GET", target: "/login?username%5B%5D=a"},
		{name: "upper-case user in query", method: "GET", target: "/login?USERNAME=a"},
		{name: "user cookie", method: "GET", target: "/login", header: http.Header{"Cookie": {"sid=1", "username=a"}}},
		{name: "encoded user cookie", method: "GET", target: "/login", header: http.Header{"Cookie": {"user%6Eame=a"}}},
		{name: "dotted user cookie", method: "GET", target: "/login", header: http.Header{"Cookie": {"user.name=a"}}, spec: Spec{UserField: "user_name"}},
		{name: "password cookie after a comma", method: "GET", target: "/login", header: http.Header{"Cookie": {"sid=1, password=a"}}},
		{name: "devise user in query", method: "GET", target: "/users/sign_in?user%5Bemail%5D=a", spec: devise},
		{name: "devise user cookie", method: "GET", target: "/users/sign_in", header: http.Header{"Cookie": {"user=a"}}, spec: devise},
		{name: "devise assertion field", method: "GET", target: "/users/sign_in?loginid_jwt=a", spec: devise},
		{name: "devise page", method: "GET", target: "/users/sign_in?locale=de", spec: devise, page: true},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		if c.body == "" {
			r.Body, r.ContentLength = http.NoBody, 0
		}
		for k, vs := range c.header {
			r.Header[k] = vs
		}
		if got := PageRequest(r, &c.spec, "", "X-Loginid"); got != c.page {
			t.Errorf("%s: PageRequest %v, want %v", c.name, got, c.page)
		}
	}
	// A chunked body of unknown length is a body.
	r := httptest.NewRequest("GET", "/login", strings.NewReader(""))
	r.ContentLength = -1
	if PageRequest(r, &Spec{}) {
		t.Error("a request of unknown length is a page request")
	}
}
