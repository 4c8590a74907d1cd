package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestLoginRouteMethods: a login route selected by its path alone, every
// method (docs/configuration.md, matching the login path). A request a
// framework could read a login from is judged whatever its method and
// however the method is spelt (post, Post, get, PUT: Django, Flask,
// Symfony, ASP.NET Core and php_fastcgi read a spelling of POST as POST);
// the login page (GET, HEAD or OPTIONS with no body, no Authorization and
// nothing named like a guarded field in the query string or the cookies)
// passes to the portal unjudged and unaudited, where it used to be
// refused as a login without a user. A route with missing_user allow
// judges every request it selects, as before.
func TestLoginRouteMethods(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		fmt.Fprint(w, "portal page")
	})
	g := caddytest.Start(t, "", fmt.Sprintf(`{{listen}} {
	login_guard /login {
		name login
		event login
		deny_ip 127.0.0.0/8
	}
	login_guard /idfirst {
		name idfirst
		event login
		missing_user allow
		deny_ip 127.0.0.0/8
	}
	reverse_proxy %s
}`, upstream.Listener.Addr()))
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name, method, target, ct, body string
		header                         map[string]string
		want                           int // 200: passed to the portal unjudged
	}{
		{name: "POST", method: "POST", target: "/login", ct: form, body: "username=victim&password=x", want: 403},
		{name: "post", method: "post", target: "/login", ct: form, body: "username=victim&password=x", want: 403},
		{name: "Post", method: "Post", target: "/login", ct: form, body: "username=victim&password=x", want: 403},
		{name: "get with a body", method: "get", target: "/login", ct: form, body: "username=victim&password=x", want: 403},
		{name: "PUT JSON", method: "PUT", target: "/login", ct: "application/json", body: `{"username":"victim","password":"x"}`, want: 403},
		{name: "GET with a JSON body", method: "GET", target: "/login", ct: "application/json", body: `{"username":"victim","password":"x"}`, want: 403},
		{name: "GET with the user in the query", method: "GET", target: "/login?username=victim&password=x", want: 403},
		{name: "OPTIONS with the user in the query", method: "OPTIONS", target: "/login?username=victim", want: 403},
		{name: "GET with a password in the query", method: "GET", target: "/login?password=x", want: 400},
		{name: "GET with a look-alike in the query", method: "GET", target: "/login?Username=victim", want: 400},
		{name: "GET with the user in a cookie", method: "GET", target: "/login", header: map[string]string{"Cookie": "username=victim; password=x"}, want: 400},
		{name: "GET with an encoded cookie name", method: "GET", target: "/login", header: map[string]string{"Cookie": "user%6Eame=victim"}, want: 400},
		{name: "GET with a password cookie", method: "GET", target: "/login", header: map[string]string{"Cookie": "sid=1; Password=x"}, want: 400},
		{name: "GET with basic auth", method: "GET", target: "/login", header: map[string]string{"Authorization": "Basic dmljdGltOng="}, want: 400},
		{name: "get", method: "get", target: "/login", want: 400},
		{name: "DELETE", method: "DELETE", target: "/login", want: 400},
		{name: "POST without a body", method: "POST", target: "/login", want: 400},
		// The login page.
		{name: "GET", method: "GET", target: "/login", want: 200},
		{name: "GET with a query", method: "GET", target: "/login?next=%2Faccount", want: 200},
		{name: "GET with a session cookie", method: "GET", target: "/login", header: map[string]string{"Cookie": "sessionid=abc; csrftoken=x"}, want: 200},
		{name: "HEAD", method: "HEAD", target: "/login", want: 200},
		{name: "OPTIONS", method: "OPTIONS", target: "/login", want: 200},
		// missing_user allow: every request selected is judged.
		{name: "GET under missing_user allow", method: "GET", target: "/idfirst", want: 403},
	}
	passed := 0
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, g.URL+c.target, strings.NewReader(c.body))
		if c.body == "" {
			req.Body = http.NoBody
		}
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, body := g.Do(t, req)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s (%s): status %d, want %d: %.80q", c.method, c.target, c.name, resp.StatusCode, c.want, body)
		}
		if c.want == http.StatusOK {
			passed++
		}
	}
	if n := len(upstream.All()); n != passed {
		t.Errorf("the portal got %d requests, want the %d page requests", n, passed)
	}
	for _, r := range upstream.All() {
		if r.Method != "GET" && r.Method != "HEAD" && r.Method != "OPTIONS" {
			t.Errorf("a %s request reached the portal", r.Method)
		}
	}
	judged := 0
	for _, c := range cases {
		if c.want != http.StatusOK {
			judged++
		}
	}
	if n := len(g.AuditLines(t)); n != judged {
		t.Errorf("%d audit lines, want one for each of the %d judged requests (none for a page request)\n%s", n, judged, g.RawLogs(t))
	}
}

// TestMethodMatcherWarned: a login route selected by `method POST`, as
// the docs used to advise, is named at start in a warning; a route of the
// path alone, and a logout's method matcher, are not.
func TestMethodMatcherWarned(t *testing.T) {
	upstream := caddytest.NewRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {})
	g := caddytest.Start(t, "", fmt.Sprintf(`{{listen}} {
	@old {
		method POST
		path /old
	}
	login_guard @old {
		name old
		event login
	}
	login_guard /new {
		name new
		event login
	}
	@logout {
		method POST
		path /logout
	}
	login_guard @logout {
		name out
		event logout
	}
	reverse_proxy %s
}`, upstream.Listener.Addr()))
	var warned []string
	for _, l := range g.Logs(t) {
		if strings.Contains(fmt.Sprint(l["msg"]), "selected by a method matcher") {
			warned = append(warned, fmt.Sprint(l["route"]))
		}
	}
	if len(warned) != 1 || warned[0] != "old" {
		t.Fatalf("warned for %v, want [old]\n%s", warned, g.RawLogs(t))
	}
}
