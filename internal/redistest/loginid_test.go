//go:build redis

package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// keyHost is LoginID DirectWeb's certs endpoint: one PEM key per kid,
// over TLS, its certificate in a file the instances trust.
type keyHost struct {
	*httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
	caFile string
}

func newKeyHost(t *testing.T) *keyHost {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kh := &keyHost{key: key, kid: "3d0b5f1e-9a2c-4c1e-8f00-1b2c3d4e5f60"}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kh.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/certs" || r.URL.Query().Get("kid") != kh.kid {
			http.NotFound(w, r)
			return
		}
		w.Write(pub)
	}))
	t.Cleanup(kh.Close)
	kh.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(kh.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kh.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return kh
}

func (kh *keyHost) mint(t *testing.T, user, nonce string) string {
	tok := jwt.New()
	now := time.Now()
	tok.Set(jwt.AudienceKey, "client-123")
	tok.Set(jwt.IssuedAtKey, now)
	tok.Set(jwt.ExpirationKey, now.Add(time.Minute))
	tok.Set("udata", user)
	tok.Set("type", "fido2_login")
	tok.Set("nonce", nonce)
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kh.kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, kh.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// TestLoginIDReplayAcrossInstances: a token accepted on one instance is a
// replay on the other, and of parallel uses on both only one passes.
func TestLoginIDReplayAcrossInstances(t *testing.T) {
	srv := redisproc.Start(t)
	kh := newKeyHost(t)
	global := fmt.Sprintf("\t\tloginid {\n\t\t\tmode pem\n\t\t\tkey_url %s/certs\n\t\t\tclient_id client-123\n\t\t\ttrust_pem %s\n\t\t}", kh.URL, kh.caFile)
	site := "\tlogin_guard /fido {\n\t\tname fido\n\t\tevent login\n\t\tassertion required\n\t}"
	f := startFleet(t, 2, "\t\t\taddress "+srv.Addr(), global, site)
	post := func(i int, token string) int {
		form := url.Values{"username": {"john.doe"}, "password": {password}, "loginid_jwt": {token}}
		req, _ := http.NewRequest(http.MethodPost, f.procs[i].URL("site")+"/fido", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := kh.mint(t, "john.doe", "nonce-1")
	if st := post(0, tok); st != http.StatusSeeOther {
		t.Fatalf("first use on instance 0: %d", st)
	}
	if st := post(1, tok); st != http.StatusForbidden {
		t.Fatalf("replay on instance 1: %d, want 403", st)
	}
	if n := f.portal.count("/fido", "john.doe"); n != 1 {
		t.Fatalf("portal saw %d logins, want 1", n)
	}
	// Parallel uses of a fresh token on both instances: one passes.
	tok = kh.mint(t, "john.doe", "nonce-2")
	res := make(chan int, 10)
	for i := range 10 {
		go func() { res <- post(i%2, tok) }()
	}
	passed := 0
	for range 10 {
		if <-res == http.StatusSeeOther {
			passed++
		}
	}
	if passed != 1 || f.portal.count("/fido", "john.doe") != 2 {
		t.Fatalf("%d parallel uses passed (portal %d), want 1", passed, f.portal.count("/fido", "john.doe"))
	}
	// Redis down: tokens are refused (fail closed), whatever the policy.
	srv.Stop()
	if st := post(0, kh.mint(t, "john.doe", "nonce-3")); st == http.StatusSeeOther {
		t.Fatal("a token was accepted while its use could not be recorded")
	}
}
