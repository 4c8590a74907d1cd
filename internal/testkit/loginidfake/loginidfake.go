// Package loginidfake is LoginID DirectWeb's certs endpoint for tests: one
// PEM public key per kid at /certs, over TLS, its certificate written to a
// file the guard trusts (`trust_pem`), and a signer for DirectWeb-style
// tokens. Every test that starts Caddy with a `loginid` block uses it.
package loginidfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// KeyHost serves the key for KID at /certs?kid=KID.
type KeyHost struct {
	*httptest.Server
	KID string
	// CAFile holds the server's certificate, for `trust_pem`.
	CAFile string
	// Audience is the `aud` of minted tokens (the `client_id` the guard
	// expects).
	Audience string
	// Requests counts every request the host answered.
	Requests atomic.Int32

	key  *ecdsa.PrivateKey
	down atomic.Bool
	hang atomic.Bool
}

// New starts a key host for a client id, stopped when the test ends.
func New(t testing.TB, audience string) *KeyHost {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kh := &KeyHost{key: key, KID: "f82151ed-cdc4-447c-bb80-981bfbcc2497", Audience: audience}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kh.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kh.Requests.Add(1)
		for kh.hang.Load() {
			select {
			case <-r.Context().Done():
				// No answer at all: a returning handler would send a 200 that net/http's
				// client may still hand a caller cancelling the request, as if answered.
				panic(http.ErrAbortHandler)
			case <-time.After(10 * time.Millisecond):
			}
		}
		if kh.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/certs" || r.URL.Query().Get("kid") != kh.KID {
			http.NotFound(w, r)
			return
		}
		w.Write(pub)
	}))
	t.Cleanup(kh.Close)
	kh.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kh.Certificate().Raw})
	if err := os.WriteFile(kh.CAFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return kh
}

// SetDown makes the host answer 503 (a key-host outage) or serve again.
func (kh *KeyHost) SetDown(down bool) { kh.down.Store(down) }

// SetHang makes the host hold every request without an answer until the
// client gives up (a key host that hangs), or answer again (the held
// requests too).
func (kh *KeyHost) SetHang(hang bool) { kh.hang.Store(hang) }

// Mint signs a token of type typ for user, issued at iat, valid a minute.
func (kh *KeyHost) Mint(t testing.TB, user, typ, nonce string, iat time.Time) string {
	t.Helper()
	tok := jwt.New()
	tok.Set(jwt.AudienceKey, kh.Audience)
	tok.Set(jwt.IssuedAtKey, iat)
	tok.Set(jwt.ExpirationKey, iat.Add(time.Minute))
	tok.Set("udata", user)
	tok.Set("type", typ)
	tok.Set("nonce", nonce)
	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, kh.KID)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, kh.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}
