package login

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/request"
)

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
		x := &exchange{h: h}
		x.Start = time.Now()
		hdr := http.Header{}
		if err := x.setSessionCookie(r, hdr, app.Session{User: "jlopez", Session: "s1"}); err != nil {
			t.Fatal(err)
		}
		line := hdr.Get("Set-Cookie")
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		ttl := time.Duration(h.app.Session.TTL)
		if want := request.GuardCookie(r, request.PlainSessionCookie, c.Value, ttl, "", http.SameSiteLaxMode).String(); line != want {
			t.Fatalf("got  %q\nwant %q", line, want)
		}
		if tlsOn != strings.HasPrefix(c.Name, "__Host-") {
			t.Fatalf("name %q over tls=%v", c.Name, tlsOn)
		}
		if s, _, ok := h.app.OpenSession(t.Context(), c.Value, time.Now()); !ok || s.User != "jlopez" || s.Session != "s1" {
			t.Fatalf("opened %+v, %v", s, ok)
		}
	}
}
