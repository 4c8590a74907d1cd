package formbody

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A Connection header that names a header the body is read by is
// refused: the proxy in front of the portal removes what Connection names
// before the portal reads the body. Caddy's reverse_proxy and php_fastcgi
// do, and the framing differential (internal/bodydiff) saw this JSON body
// read as a form with user mallory by Rack and by PHP behind php_fastcgi.
func TestParseRequestConnectionNamesBodyHeader(t *testing.T) {
	for _, c := range []struct {
		lines   []string
		refused bool
	}{
		{nil, false},
		{[]string{"keep-alive"}, false},
		{[]string{"close"}, false},
		{[]string{"Keep-Alive, Upgrade"}, false},
		{[]string{"TE"}, false},
		{[]string{"Content-Typex, X-Content-Type"}, false},
		{[]string{"Content-Type"}, true},
		{[]string{"close, content-type"}, true},
		{[]string{"close", " CONTENT-TYPE "}, true},
		{[]string{"keep-alive,Content-Length"}, true},
		{[]string{"Transfer-Encoding"}, true},
		{[]string{"Content-Encoding"}, true},
	} {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(`{"username":"alice","password":"p","note":"&username=mallory&"}`))
		r.Header.Set("Content-Type", "application/json")
		if c.lines != nil {
			r.Header["Connection"] = c.lines
		}
		f, _, err := ParseRequest(r, 0, Spec{})
		var fe *Error
		switch {
		case c.refused && (!errors.As(err, &fe) || fe.Reason != ReasonHopByHopHeader || fe.Status != http.StatusBadRequest):
			t.Errorf("Connection %q: %v, want a 400 %s refusal", c.lines, err, ReasonHopByHopHeader)
		case !c.refused && err != nil:
			t.Errorf("Connection %q: refused: %v", c.lines, err)
		case !c.refused:
			if u, _ := f.User(); u != "alice" {
				t.Errorf("Connection %q: user %q", c.lines, u)
			}
		}
	}
}

// A browser's "Connection: keep-alive" costs the small login form no
// allocation beyond its one (TestParseRequestSmallFormMemory).
func TestParseRequestConnectionKeepAliveMemory(t *testing.T) {
	raw := []byte(smallForm)
	r := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {ctForm}, "Connection": {"keep-alive"}}}
	src := &reusableBody{}
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(raw)
		r.Body, r.ContentLength = src, int64(len(raw))
		if _, _, err := ParseRequest(r, 0, Spec{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("ParseRequest of a small login form with Connection: keep-alive: %v allocations, want 1", allocs)
	}
}
