package caddymodule_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// loginidKeyHost is DirectWeb's certs endpoint: one PEM public key per
// kid, over TLS. Its certificate is written to a file the guard trusts.
type loginidKeyHost struct {
	*httptest.Server
	key      *ecdsa.PrivateKey
	kid      string
	caFile   string
	requests atomic.Int32
}

func newLoginIDKeyHost(t *testing.T) *loginidKeyHost {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kh := &loginidKeyHost{key: key, kid: "f82151ed-cdc4-447c-bb80-981bfbcc2497"}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kh.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kh.requests.Add(1)
		if r.URL.Path != "/certs" || r.URL.Query().Get("kid") != kh.kid {
			http.NotFound(w, r)
			return
		}
		w.Write(pub)
	}))
	t.Cleanup(kh.Close)
	kh.caFile = filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kh.Certificate().Raw})
	if err := os.WriteFile(kh.caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return kh
}

// mint signs a DirectWeb-style token for user.
func (kh *loginidKeyHost) mint(t *testing.T, user, typ, nonce string, iat time.Time) string {
	tok := jwt.New()
	tok.Set(jwt.AudienceKey, "client-123")
	tok.Set(jwt.IssuedAtKey, iat)
	tok.Set(jwt.ExpirationKey, iat.Add(time.Minute))
	tok.Set("udata", user)
	tok.Set("type", typ)
	tok.Set("nonce", nonce)
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kh.kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, kh.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func TestLoginIDAssertionsAtTheEdge(t *testing.T) {
	upstream := newRecorder(t, portalFake)
	kh := newLoginIDKeyHost(t)
	global := fmt.Sprintf(`	login_guard {
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s
		}
	}`, kh.URL, kh.caFile)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /optional {
		event login
		assertion optional
	}
	login_guard /required {
		event login
		assertion required
	}
	login_guard /passwordless {
		event login
		assertion passwordless
		when "assertion != \"valid\"" deny
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := startCaddy(t, global, site)
	now := time.Now()
	post := func(path, user, token string) int {
		form := url.Values{"username": {user}, "password": {password}}
		if token != "" {
			form.Set("loginid_jwt", token)
		}
		resp, _ := g.post(t, path, "application/x-www-form-urlencoded", form.Encode())
		return resp.StatusCode
	}
	valid := kh.mint(t, "john.doe", "fido2_login", "n-1", now)
	cases := []struct {
		name, path, user, token string
		status                  int
		assertion               string
	}{
		{"valid", "/optional", "john.doe", valid, 200, "valid"},
		{"replayed", "/optional", "john.doe", valid, 403, "invalid:replayed"},
		{"wrong user", "/optional", "jane", kh.mint(t, "john.doe", "fido2_login", "n-2", now), 403, "invalid:wrong_user"},
		{"case-different user", "/optional", "John.Doe", kh.mint(t, "john.doe", "fido2_login", "n-3", now), 403, "invalid:wrong_user"},
		{"registration token", "/optional", "john.doe", kh.mint(t, "john.doe", "fido2_register", "n-4", now), 403, "invalid:registration_token"},
		{"too old", "/optional", "john.doe", kh.mint(t, "john.doe", "fido2_login", "n-5", now.Add(-10*time.Minute)), 403, "invalid:expired"},
		{"tampered", "/optional", "john.doe", tamper(kh.mint(t, "john.doe", "fido2_login", "n-6", now)), 403, "invalid:bad_signature"},
		{"none given, optional", "/optional", "john.doe", "", 200, ""},
		{"none given, required", "/required", "john.doe", "", 403, ""},
		{"passwordless", "/passwordless", "john.doe", kh.mint(t, "john.doe", "fido2_login", "n-7", now), 200, "valid"},
	}
	for _, c := range cases {
		if got := post(c.path, c.user, c.token); got != c.status {
			t.Errorf("%s: status %d, want %d", c.name, got, c.status)
		}
	}
	lines := g.auditLines(t)
	for i, c := range cases {
		if got, _ := lines[i]["assertion"].(string); got != c.assertion && !(strings.HasPrefix(c.assertion, "invalid:") && strings.HasPrefix(got, "invalid:") && c.name == "too old") {
			t.Errorf("%s: audit assertion %q, want %q", c.name, got, c.assertion)
		}
	}
	if n := kh.requests.Load(); n != 1 {
		t.Errorf("the key is cached: %d fetches, want 1", n)
	}
	if strings.Contains(g.rawLogs(t), valid) {
		t.Error("a token appeared in the logs")
	}
}

// tamper changes one character of the payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

// TestAssertionRequiredFailsClosed: with the key host down a token cannot
// be verified. A route that requires one denies (whatever
// on_engine_failure says); on_assertion_unverifiable opts out.
func TestAssertionRequiredFailsClosed(t *testing.T) {
	upstream := newRecorder(t, portalFake)
	kh := newLoginIDKeyHost(t)
	global := fmt.Sprintf(`	login_guard {
		loginid {
			mode      pem
			key_url   %s/certs
			client_id client-123
			trust_pem %s
		}
	}`, kh.URL, kh.caFile)
	site := fmt.Sprintf(`{{listen}} {
	login_guard /required {
		event login
		assertion required
		on_engine_failure allow
	}
	login_guard /required-allow {
		event login
		assertion required
		on_assertion_unverifiable allow
	}
	login_guard /required-challenge {
		event login
		assertion required
		on_assertion_unverifiable challenge
	}
	reverse_proxy %s
}`, upstream.Listener.Addr())
	g := startCaddy(t, global, site)
	kh.Close() // the key host is down; no key is cached yet
	now := time.Now()
	for i, c := range []struct {
		path   string
		status int
	}{
		{"/required", 403},
		{"/required-allow", 200},
		{"/required-challenge", 401},
	} {
		form := url.Values{"username": {"john.doe"}, "password": {password}, "loginid_jwt": {kh.mint(t, "john.doe", "fido2_login", fmt.Sprintf("down-%d", i), now)}}
		resp, _ := g.post(t, c.path, "application/x-www-form-urlencoded", form.Encode())
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.path, resp.StatusCode, c.status)
		}
		l := lastAudit(t, g)
		if !slices.Contains(strs(l["reasons"]), "assertion_unverifiable") {
			t.Errorf("%s: audit reasons %v", c.path, l["reasons"])
		}
	}
	if err := validateCaddyfile(t, "{\n\tlogin_guard {\n\t\tsandbox\n\t}\n}\nhttp://localhost {\n\tlogin_guard {\n\t\tevent login\n\t\ton_assertion_unverifiable allow\n\t}\n}\n"); err == nil || !strings.Contains(err.Error(), "on_assertion_unverifiable needs assertion") {
		t.Errorf("on_assertion_unverifiable without assertion: %v", err)
	}
}
