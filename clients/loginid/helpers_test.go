package loginid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

type testClock = clock.Fake

func newTestClock() *testClock { return clock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

const (
	testClientID  = "fLari955o86zbedHVT-client"
	testIssuer    = "loginid.io"
	testNamespace = "ns-4f6e2a"
	testUser      = "john.doe"
	testKID       = "f82151ed-cdc4-447c-bb80-981bfbcc2497"
)

// signingKey is a LoginID stand-in: a P-256 key and its kid.
type signingKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newSigningKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, priv: k}
}

func (k signingKey) pem(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwk is the key as a JWKS member.
func (k signingKey) jwk(t testing.TB) map[string]string {
	t.Helper()
	pt, err := k.priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": k.kid,
		"x": b64(pt[1:33]), "y": b64(pt[33:65]),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// claims builds a valid authentication result issued at now.
func validClaims(now time.Time, nonce string) map[string]any {
	return map[string]any{
		"iss":   testIssuer,
		"aud":   testClientID,
		"sub":   "user-id-1",
		"udata": testUser,
		"type":  "fido2_login",
		"nid":   testNamespace,
		"nonce": nonce,
		"iat":   now.Unix(),
		"exp":   now.Add(5 * time.Minute).Unix(),
	}
}

// es256Sign returns header.payload.signature with a raw r||s signature.
func es256Sign(t testing.TB, priv *ecdsa.PrivateKey, header map[string]any, claims map[string]any) string {
	t.Helper()
	input := b64json(t, header) + "." + b64json(t, claims)
	return input + "." + b64(es256Sig(t, priv, input))
}

func es256Sig(t testing.TB, priv *ecdsa.PrivateKey, input string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

func (k signingKey) mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return es256Sign(t, k.priv, map[string]any{"alg": "ES256", "typ": "JWT", "kid": k.kid}, claims)
}

// hs256WithPublicKey is the classic algorithm-confusion forgery: HMAC
// keyed with the public key's PEM bytes.
func hs256WithPublicKey(t testing.TB, k signingKey, claims map[string]any) string {
	t.Helper()
	input := b64json(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": k.kid}) + "." + b64json(t, claims)
	m := hmac.New(sha256.New, k.pem(t))
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

// malleate rewrites an ES256 signature (r, s) into (r, n−s), which
// verifies just as well.
func malleate(t testing.TB, token string) string {
	t.Helper()
	dot := len(token) - 1
	for token[dot] != '.' {
		dot--
	}
	sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("bad signature segment: %v", err)
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	out := make([]byte, 64)
	copy(out, sig[:32])
	s.FillBytes(out[32:])
	return token[:dot+1] + b64(out)
}

// keyHost is a fake LoginID key host on 127.0.0.1 (TLS). It serves
// DirectWeb's GET /certs?kid=<kid> (one PEM per kid, 404 for an unknown
// kid) and GET /fido2/v2/.well-known/jwks.json, and checks every request
// against that format.
type keyHost struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]signingKey
	pemReqs  atomic.Int64
	jwksReqs atomic.Int64
	down     atomic.Bool   // answer 503
	gate     chan struct{} // when non-nil, requests wait for it to close
	arrived  chan string   // when non-nil, receives each request's kid
	bodyFn   func() []byte // overrides the PEM body when set
	observed []url.Values  // queries seen, for escaping checks
}

const (
	certsPath = "/certs"
	jwksPath  = "/fido2/v2/.well-known/jwks.json"
)

func newKeyHost(t testing.TB, keys ...signingKey) *keyHost {
	t.Helper()
	h := &keyHost{t: t, keys: map[string]signingKey{}}
	for _, k := range keys {
		h.keys[k.kid] = k
	}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *keyHost) setKeys(keys ...signingKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keys = map[string]signingKey{}
	for _, k := range keys {
		h.keys[k.kid] = k
	}
}

func (h *keyHost) certsURL() string { return h.srv.URL + certsPath }
func (h *keyHost) jwksURL() string  { return h.srv.URL + jwksPath }

func (h *keyHost) serve(w http.ResponseWriter, r *http.Request) {
	if err := h.check(r); err != nil {
		h.t.Errorf("key host: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	kid := r.URL.Query().Get("kid")
	if h.arrived != nil {
		h.arrived <- kid
	}
	if h.gate != nil {
		select {
		case <-h.gate:
		case <-r.Context().Done():
			// No answer at all: a returning handler would send a 200 that
			// net/http's client may still hand a caller cancelling the
			// request, as if answered.
			panic(http.ErrAbortHandler)
		}
	}
	if h.down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.URL.Path {
	case certsPath:
		h.pemReqs.Add(1)
		h.observed = append(h.observed, r.URL.Query())
		k, ok := h.keys[kid]
		if !ok {
			http.Error(w, `{"code":"not_found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		if h.bodyFn != nil {
			_, _ = w.Write(h.bodyFn())
			return
		}
		_, _ = w.Write(k.pem(h.t))
	case jwksPath:
		h.jwksReqs.Add(1)
		set := map[string][]map[string]string{"keys": {}}
		for _, k := range h.keys {
			set["keys"] = append(set["keys"], k.jwk(h.t))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}
}

// check holds the request to the wire format: a bodiless GET on the
// right path, the kid as the only query parameter (certs) or no query
// (JWKS), and no credentials of any kind.
func (h *keyHost) check(r *http.Request) error {
	if r.Method != http.MethodGet {
		return fmt.Errorf("method %s, want GET", r.Method)
	}
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return fmt.Errorf("request has a body")
	}
	for _, h := range []string{"Authorization", "Cookie", "X-Api-Key"} {
		if r.Header.Get(h) != "" {
			return fmt.Errorf("request carries %s", h)
		}
	}
	if r.Header.Get("User-Agent") != "login_guard-loginid" {
		return fmt.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
	}
	switch r.URL.Path {
	case certsPath:
		q := r.URL.Query()
		if len(q) != 1 || len(q["kid"]) != 1 || q.Get("kid") == "" {
			return fmt.Errorf("certs query %q, want exactly kid=<kid>", r.URL.RawQuery)
		}
		if r.Header.Get("Accept") != "application/x-pem-file, text/plain, */*" {
			return fmt.Errorf("certs Accept %q", r.Header.Get("Accept"))
		}
	case jwksPath:
		if r.URL.RawQuery != "" {
			return fmt.Errorf("jwks query %q, want none", r.URL.RawQuery)
		}
		if r.Header.Get("Accept") != "application/jwk-set+json, application/json" {
			return fmt.Errorf("jwks Accept %q", r.Header.Get("Accept"))
		}
	default:
		return fmt.Errorf("path %q", r.URL.Path)
	}
	return nil
}

// fetchLog collects Observer reports.
// With notify set, every report is also sent there, so a test can wait
// for a background fetch to finish.
type fetchLog struct {
	mu     sync.Mutex
	reps   []FetchReport
	notify chan FetchReport
}

func (l *fetchLog) ObserveFetch(r FetchReport) {
	l.mu.Lock()
	l.reps = append(l.reps, r)
	l.mu.Unlock()
	if l.notify != nil {
		l.notify <- r
	}
}

// all is a copy of the reports so far.
func (l *fetchLog) all() []FetchReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reps)
}

func (l *fetchLog) count(outcome string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reps {
		if r.Outcome == outcome {
			n++
		}
	}
	return n
}

// testConfig is a PEM-mode config against host with every check on.
func testConfig(host *keyHost, clock *testClock) Config {
	return Config{
		Mode:       ModePEM,
		KeyURL:     host.certsURL(),
		ClientID:   testClientID,
		Issuer:     testIssuer,
		Namespace:  testNamespace,
		HTTPClient: host.srv.Client(),
		Now:        clock.Now,
	}
}

func newTestVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// wantSub asserts err is an *Error with the sub-reason and the stable
// reason assertion_invalid.
func wantSub(t testing.TB, err error, sub string) {
	t.Helper()
	if sub == "" {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("want *Error %q, got %T %v", sub, err, err)
	}
	if e.Reason != "assertion_invalid" || e.Sub != sub {
		t.Fatalf("want assertion_invalid/%s, got %s/%s (%v)", sub, e.Reason, e.Sub, err)
	}
}

var bg = context.Background()

func jwsHeaders(t testing.TB, kid string) jws.Headers {
	t.Helper()
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	return h
}

func jwsWithHeaders(h jws.Headers) jws.WithKeySuboption { return jws.WithProtectedHeaders(h) }

// respell sets the lowest unused bit of the last character of segment i
// of token (0 header, 1 payload): a non-canonical base64url spelling of
// the same bytes. ok is false when that segment has no unused bits.
func respell(token string, i int) (string, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	segs := strings.Split(token, ".")
	s := segs[i]
	if len(s)%4 == 0 {
		return "", false
	}
	v := strings.IndexByte(alphabet, s[len(s)-1])
	segs[i] = s[:len(s)-1] + string(alphabet[v|1])
	return strings.Join(segs, "."), true
}
