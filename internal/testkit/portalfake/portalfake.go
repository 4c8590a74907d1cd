// Package portalfake is the web portal behind the guard in the tests that
// start Caddy: a login that answers like a real app (a session cookie and
// a 303 to /account for the right password, a 303 back to the form
// otherwise), that counts what reached it per path and user and keeps
// their bodies, and that can be made slow or over-size.
//
// The in-process suites put its answers behind caddytest's recorder
// (Handler(...).Respond); the process suites run it as a server (New).
package portalfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bounds of what a Portal keeps, so a load of thousands of logins does
// not grow it without end: the bodies of the first MaxKeys "path user"
// keys, each cut at MaxBody bytes. Counts are kept for every key.
const (
	MaxKeys = 1024
	MaxBody = 64 << 10
)

// SessionCookie is the name of the portal's own session cookie.
const SessionCookie = "portal_session"

// Portal is the fake app. Its zero value is not usable: see New and
// Handler.
type Portal struct {
	// Server is nil for a Portal made by Handler.
	*httptest.Server

	password   string
	loginPaths []string
	delay      atomic.Int64 // nanoseconds before each answer
	bigBody    atomic.Int64 // bytes of body on a successful login
	logins     atomic.Int64

	mu     sync.Mutex
	seen   map[string]int    // "path user" → requests
	bodies map[string]string // "path user" → the last body (bounded)
}

// AnyPath, as the login path, makes every path a login form.
const AnyPath = "*"

// Handler returns a Portal without a server of its own, for a test
// server that reads the body itself and calls Respond (caddytest's
// recorder). Requests for the login paths (none given: /api/login) are
// login attempts; any other path answers 200 "ok".
func Handler(password string, loginPaths ...string) *Portal {
	if len(loginPaths) == 0 {
		loginPaths = []string{"/api/login"}
	}
	return &Portal{password: password, loginPaths: loginPaths, seen: map[string]int{}, bodies: map[string]string{}}
}

// New starts a Portal on loopback, with Handler's login paths; it stops
// when the test ends.
func New(t testing.TB, password string, loginPaths ...string) *Portal {
	p := Handler(password, loginPaths...)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.Respond(w, r, body)
	}))
	t.Cleanup(p.Close)
	return p
}

// SetDelay makes every answer wait d (0: none), or until the client goes
// away.
func (p *Portal) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// SetBigBody makes a successful login's answer carry n bytes of body.
func (p *Portal) SetBigBody(n int) { p.bigBody.Store(int64(n)) }

// Logins is the number of requests to a login path.
func (p *Portal) Logins() int64 { return p.logins.Load() }

// Count is how many requests for path named user reached the portal.
func (p *Portal) Count(path, user string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[path+" "+user]
}

// Body is the last body of a request for path named user ("" when none
// was kept).
func (p *Portal) Body(path, user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies[path+" "+user]
}

// Respond answers one request whose body was read already: on a login
// path, a 303 to /account with a session cookie when the password field
// (form, multipart or JSON) is right, a 303 back to the form otherwise;
// 200 "ok" on any other path.
func (p *Portal) Respond(w http.ResponseWriter, r *http.Request, body []byte) {
	fields := formFields(r.Header.Get("Content-Type"), body)
	p.record(r.URL.Path+" "+fields.Get("username"), body)
	if d := time.Duration(p.delay.Load()); d > 0 && !sleep(r.Context(), d) {
		return
	}
	if !slices.Contains(p.loginPaths, r.URL.Path) && !slices.Contains(p.loginPaths, AnyPath) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
		return
	}
	n := p.logins.Add(1)
	if pass := fields["password"]; len(pass) == 1 && pass[0] == p.password {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "APPSESSION-" + strconv.FormatInt(n, 10), Path: "/"})
		w.Header().Set("Location", "/account")
		w.WriteHeader(http.StatusSeeOther)
		if n := p.bigBody.Load(); n > 0 {
			w.Write(bytes.Repeat([]byte("x"), int(n)))
		}
		return
	}
	w.Header().Set("Location", "/?failed=1")
	w.WriteHeader(http.StatusSeeOther)
}

func (p *Portal) record(key string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[key]++
	if _, kept := p.bodies[key]; kept || len(p.bodies) < MaxKeys {
		p.bodies[key] = string(body[:min(len(body), MaxBody)])
	}
}

// formFields reads the fields of a login body the way a simple app
// would: JSON when the content type says so, multipart by its boundary,
// a URL-encoded form otherwise. Junk gives what could be read.
func formFields(contentType string, body []byte) url.Values {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var obj map[string]any
		_ = json.Unmarshal(body, &obj)
		out := url.Values{}
		for k, v := range obj {
			if s, ok := v.(string); ok {
				out.Set(k, s)
			}
		}
		return out
	case mt == "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(MaxBody)
		if err != nil {
			return url.Values{}
		}
		defer form.RemoveAll()
		return url.Values(form.Value)
	}
	v, _ := url.ParseQuery(string(body))
	return v
}

// sleep waits d or until ctx ends; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
