package loginid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestCachedKeySurvivesKeyHostOutage(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	log := &fetchLog{notify: make(chan FetchReport, 8)}
	cfg := testConfig(host, clock)
	cfg.KeyTTL = 10 * time.Minute
	cfg.Observer = log
	v := newTestVerifier(t, cfg)

	verify := func(nonce string) error {
		_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), nonce)), testUser, testClient)
		return err
	}
	wantOutcome := func(want string) {
		t.Helper()
		if r := <-log.notify; r.Outcome != want {
			t.Fatalf("fetch outcome %q, want %q (%v)", r.Outcome, want, r.Err)
		}
	}
	wantSub(t, verify("1"), "")
	wantOutcome(FetchOK)
	host.down.Store(true)
	wantSub(t, verify("2"), "") // fresh cached key, host not asked
	if n := host.pemReqs.Load(); n != 1 {
		t.Fatalf("host saw %d key requests, want 1", n)
	}

	// Past KeyTTL the key is re-checked in the background; the host is
	// down, so the stale key keeps verifying.
	clock.Advance(11 * time.Minute)
	wantSub(t, verify("3"), "")
	wantOutcome(FetchError)
	wantSub(t, verify("4"), "") // bucket (burst 3) still allows: another failed re-check
	wantOutcome(FetchError)

	// The host is back and has retired the kid: the re-check removes the
	// key; the token that triggered it was still verified with it.
	host.down.Store(false)
	host.setKeys()
	wantSub(t, verify("5"), "")
	wantOutcome(FetchNotFound)
	host.setKeys(key)
	wantSub(t, verify("6"), SubUnknownKID) // negative-cached, host not asked
	if n := host.pemReqs.Load(); n != 2 {
		t.Fatalf("host saw %d key requests, want 2", n)
	}
	if len(log.notify) != 0 {
		t.Fatalf("unexpected fetch report %+v", <-log.notify)
	}
}

// A stale key whose re-check the bucket refuses is still used.
func TestStaleKeyUsedWhenRefreshRateLimited(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	log := &fetchLog{}
	cfg := testConfig(host, clock)
	cfg.KeyTTL = time.Minute
	cfg.FetchBurst = 1
	cfg.FetchInterval = time.Hour
	cfg.Observer = log
	v := newTestVerifier(t, cfg)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "1")), testUser, testClient)
	wantSub(t, err, "")
	// The first re-check takes the refresh bucket's one token.
	clock.Advance(2 * time.Minute)
	_, err = v.Verify(bg, key.mint(t, validClaims(clock.Now(), "2")), testUser, testClient)
	wantSub(t, err, "")
	waitFor(t, func() bool { return log.count(FetchOK) == 2 })
	clock.Advance(2 * time.Minute)
	_, err = v.Verify(bg, key.mint(t, validClaims(clock.Now(), "3")), testUser, testClient)
	wantSub(t, err, "")
	if log.count(FetchRateLimited) != 1 || host.pemReqs.Load() != 2 {
		t.Fatalf("reports %+v, host requests %d", log.all(), host.pemReqs.Load())
	}
}

// A flood of made-up kids (anyone can send one) drains the bucket for
// kids not in the cache; the re-check of a cached kid past KeyTTL has a
// bucket of its own, so a key the host has retired is noticed all the
// same and stops verifying.
func TestKidFloodDoesNotStarveRefresh(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	cfg := testConfig(host, clock)
	cfg.KeyTTL = time.Minute
	cfg.FetchBurst = 1
	cfg.FetchInterval = time.Hour
	v := newTestVerifier(t, cfg)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "1")), testUser, testClient)
	wantSub(t, err, "")
	for i := range 3 {
		bogus := newSigningKey(t, fmt.Sprint("made-up-", i))
		_, err := v.Verify(bg, bogus.mint(t, validClaims(clock.Now(), fmt.Sprint("b", i))), testUser, testClient)
		wantSub(t, err, SubUnknownKID)
	}
	host.setKeys() // LoginID retires the key
	clock.Advance(2 * time.Minute)
	n := 0
	waitFor(t, func() bool {
		n++
		_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("r", n))), testUser, testClient)
		return err != nil && err.(*Error).Sub == SubUnknownKID
	})
}

// waitFor polls cond for up to 10 s (what it waits on runs in the
// verifier's own goroutine).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}

func TestKeyHostDownWithoutCachedKey(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	host.down.Store(true)
	v := newTestVerifier(t, testConfig(host, clock))
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "n")), testUser, testClient)
	wantSub(t, err, SubKeyUnavailable)
	if !err.(*Error).Retryable() {
		t.Fatal("key_unavailable must be retryable")
	}
	if !strings.Contains(err.Error(), "503") {
		t.Fatalf("cause lost: %v", err)
	}
}

// Many distinct unknown kids: the host sees at most the bucket's burst,
// the rest fail at once, and the negative cache stays within its bound.
func TestKidFloodIsRateLimitedAndBounded(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	log := &fetchLog{}
	cfg := testConfig(host, clock)
	cfg.FetchBurst = 3
	cfg.NegativeCacheSize = 2
	cfg.Observer = log
	v := newTestVerifier(t, cfg)

	const flood = 500
	for i := range flood {
		forger := signingKey{kid: fmt.Sprintf("kid-%04d", i), priv: key.priv}
		_, err := v.Verify(bg, forger.mint(t, validClaims(clock.Now(), fmt.Sprint(i))), testUser, testClient)
		wantSub(t, err, SubUnknownKID)
	}
	if n := host.pemReqs.Load(); n != 3 {
		t.Fatalf("host saw %d requests, want the burst of 3", n)
	}
	if got := log.count(FetchRateLimited); got != flood-3 {
		t.Fatalf("rate-limited reports = %d, want %d", got, flood-3)
	}
	if n := v.keys.neg.len(); n > 2 {
		t.Fatalf("negative cache holds %d, bound is 2", n)
	}
	v.keys.fmu.Lock()
	inflight := len(v.keys.flights)
	v.keys.fmu.Unlock()
	if inflight != 0 {
		t.Fatalf("%d flights left behind", inflight)
	}

	// The legitimate kid is not starved forever: one interval later a
	// token is available again.
	clock.Advance(DefaultFetchInterval)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "legit")), testUser, testClient)
	wantSub(t, err, "")
	if n := host.pemReqs.Load(); n != 4 {
		t.Fatalf("host saw %d requests, want 4", n)
	}
}

// Concurrent lookups of one new kid share one request. The bucket holds a
// single token, so a second request could not happen without failing a
// verification.
func TestConcurrentLookupsShareOneFetch(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	host.gate = make(chan struct{})
	host.arrived = make(chan string, 1)
	cfg := testConfig(host, clock)
	cfg.FetchBurst = 1
	v := newTestVerifier(t, cfg)

	const n = 16
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = key.mint(t, validClaims(clock.Now(), fmt.Sprint("c", i)))
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(bg, tokens[i], testUser, testClient)
			errs <- err
		}()
	}
	<-host.arrived
	close(host.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		wantSub(t, err, "")
	}
	if got := host.pemReqs.Load(); got != 1 {
		t.Fatalf("host saw %d requests, want 1", got)
	}
}

func TestJWKSMode(t *testing.T) {
	clock := newTestClock()
	k1 := newSigningKey(t, "jwks-key-1")
	k2 := newSigningKey(t, "jwks-key-2")
	host := newKeyHost(t, k1, k2)
	cfg := testConfig(host, clock)
	cfg.Mode, cfg.KeyURL = ModeJWKS, host.jwksURL()
	v := newTestVerifier(t, cfg)

	verify := func(k signingKey, nonce string) error {
		_, err := v.Verify(bg, k.mint(t, validClaims(clock.Now(), nonce)), testUser, testClient)
		return err
	}
	wantSub(t, verify(k1, "1"), "")
	wantSub(t, verify(k2, "2"), "") // came with the same set
	if n := host.jwksReqs.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
	stranger := newSigningKey(t, "jwks-key-9")
	wantSub(t, verify(stranger, "3"), SubUnknownKID)
	wantSub(t, verify(stranger, "4"), SubUnknownKID) // negative-cached
	if n := host.jwksReqs.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}

	// Rotation: the set gains a key; its first token fetches the set again.
	k3 := newSigningKey(t, "jwks-key-3")
	host.setKeys(k1, k3)
	wantSub(t, verify(k3, "5"), "")
	if n := host.jwksReqs.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", n)
	}
	host.down.Store(true)
	wantSub(t, verify(k1, "6"), "")
}

func TestUsableJWKSKeys(t *testing.T) {
	good := newSigningKey(t, "good")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK, err := jwk.FromRaw(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = rsaJWK.Set(jwk.KeyIDKey, "rsa")
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK, _ := jwk.FromRaw(&p384.PublicKey)
	_ = p384JWK.Set(jwk.KeyIDKey, "p384")

	withField := func(kid, field, val string) map[string]string {
		m := newSigningKey(t, kid).jwk(t)
		m[field] = val
		return m
	}
	members := []any{
		good.jwk(t),
		rsaJWK,
		p384JWK,
		withField("enc-use", "use", "enc"),
		withField("rs-alg", "alg", "ES384"),
		withField("bad kid!", "kid", "bad kid!"),
		map[string]string{"kty": "OKP", "crv": "X25519", "x": "AAAA", "kid": "weird"},
	}
	body, _ := json.Marshal(map[string]any{"keys": members})
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		t.Fatal(err)
	}
	got := usableKeys(set, 10)
	if len(got) != 1 || got["good"] == nil || !got["good"].Equal(&good.priv.PublicKey) {
		t.Fatalf("usable keys = %v", got)
	}
	if n := len(usableKeys(set, 0)); n != 0 {
		t.Fatalf("max 0 kept %d", n)
	}
}

func TestParsePEMKey(t *testing.T) {
	key := newSigningKey(t, testKID)
	pubPEM := key.pem(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jwt"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.priv.PublicKey, key.priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	jsonPEM, _ := json.Marshal(string(pubPEM))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)

	cases := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"public key", pubPEM, true},
		{"public key with CRLF and padding", []byte("\r\n" + strings.ReplaceAll(string(pubPEM), "\n", "\r\n")), true},
		{"certificate", certPEM, true},
		{"JSON string", jsonPEM, true},
		{"two blocks", append(append([]byte{}, pubPEM...), pubPEM...), false},
		{"trailing text", append(append([]byte{}, pubPEM...), "oops"...), false},
		{"RSA key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER}), false},
		{"P-384 key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER}), false},
		{"private key type", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), false},
		{"not PEM", []byte("hello"), false},
		{"JSON object", []byte(`{"key":"x"}`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := parsePEMKey(tc.body)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !k.Equal(&key.priv.PublicKey) {
				t.Fatal("wrong key")
			}
		})
	}
}

func TestKeyResponseIsCapped(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	host.bodyFn = func() []byte { return []byte(strings.Repeat(" ", 2000)) }
	cfg := testConfig(host, clock)
	cfg.MaxResponseBytes = 1000
	v := newTestVerifier(t, cfg)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "n")), testUser, testClient)
	wantSub(t, err, SubKeyUnavailable)
	if !strings.Contains(err.Error(), "exceeds 1000 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyHostRedirectIsNotFollowed(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, host.certsURL()+"?"+r.URL.RawQuery, http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	cfg := testConfig(host, clock)
	cfg.KeyURL = redirector.URL + certsPath
	cfg.HTTPClient = redirector.Client()
	v := newTestVerifier(t, cfg)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "n")), testUser, testClient)
	wantSub(t, err, SubKeyUnavailable)
	if n := host.pemReqs.Load(); n != 0 {
		t.Fatalf("redirect followed: key host saw %d requests", n)
	}
}

func TestPEMURLEscapesKID(t *testing.T) {
	src, err := newPEMSource("https://jwt.usw1.loginid.io/certs?v=2", http.DefaultClient, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.urlFor(testKID), "https://jwt.usw1.loginid.io/certs?kid="+testKID+"&v=2"; got != want {
		t.Fatalf("url = %q, want %q", got, want)
	}
	// validKID keeps such kids out; escaping is the second fence.
	if got, want := src.urlFor("a&kid=b c/#"), "https://jwt.usw1.loginid.io/certs?kid=a%26kid%3Db+c%2F%23&v=2"; got != want {
		t.Fatalf("url = %q, want %q", got, want)
	}
}

func TestValidKID(t *testing.T) {
	for kid, ok := range map[string]bool{
		testKID: true, "a": true, "A.b_c-9": true, strings.Repeat("k", 128): true,
		"": false, strings.Repeat("k", 129): false, "a b": false, "a/b": false, "a%2F": false,
		"a?b": false, "ä": false, "a\x00": false, "../x": false,
	} {
		if validKID(kid) != ok {
			t.Errorf("validKID(%q) = %v", kid, !ok)
		}
	}
}

// blockingSource never answers until its context ends.
type blockingSource struct{ started chan struct{} }

func (b *blockingSource) flightKey(kid string) string { return kid }
func (b *blockingSource) fetch(ctx context.Context, _ string) (map[string]*ecdsa.PublicKey, int, error) {
	close(b.started)
	<-ctx.Done()
	return nil, 0, ctx.Err()
}

// A caller that gives up does not wait for the key host, and Close ends
// the fetch goroutine and the cache's goroutines.
func TestCloseEndsFetchesAndGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	v, err := New(Config{Mode: ModePEM, KeyURL: "https://keys.invalid/certs", ClientID: testClientID, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	src := &blockingSource{started: make(chan struct{})}
	v.keys.src = src

	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() {
		_, err := v.Verify(ctx, key.mint(t, validClaims(clock.Now(), "n")), testUser, testClient)
		errc <- err
	}()
	<-src.started
	cancel()
	err = <-errc
	wantSub(t, err, SubKeyUnavailable)

	v.Close()
	v.Close() // idempotent
	_, err = v.Verify(bg, key.mint(t, validClaims(clock.Now(), "m")), testUser, testClient)
	wantSub(t, err, SubClosed)

	// Exited goroutines can take a while to disappear from the count (the
	// test's own sender above among them): on a loaded machine, with
	// -race, thousands of yields were not always enough. Wait for them,
	// boundedly; a goroutine Close left running stays past the bound.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > base && time.Now().Before(deadline); {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left (base %d):\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// The key host down and the bucket empty: a kid the guard has not cached
// still fails as key_unavailable (retryable: the route's failure policy),
// not as unknown_kid (a forged token), for as long as the host stays
// down; once it answers again, a refused fetch means unknown_kid again.
func TestKeyHostDownOutlastsTheBucket(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	host := newKeyHost(t, key)
	host.down.Store(true)
	log := &fetchLog{}
	cfg := testConfig(host, clock)
	cfg.FetchBurst = 1
	cfg.Observer = log
	v := newTestVerifier(t, cfg)
	for i := range 3 {
		_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), fmt.Sprint("down", i))), testUser, testClient)
		wantSub(t, err, SubKeyUnavailable)
		if !err.(*Error).Retryable() || !strings.Contains(err.Error(), "503") {
			t.Fatalf("attempt %d while the host is down: %v", i, err)
		}
	}
	// A fetch's report follows its answer (the flight is done first), so
	// the failed one may still be on its way.
	waitFor(t, func() bool { return log.count(FetchError) == 1 })
	if log.count(FetchError) != 1 || log.count(FetchRateLimited) != 2 {
		t.Fatalf("fetch reports %+v: want one failed request, then two refused by the bucket", log.all())
	}
	// The host is back: the next token's fetch gets the key (within
	// downWait, or in the background if the host is slower), the one
	// after verifies, and with the bucket empty again an unknown kid is
	// unknown_kid.
	host.down.Store(false)
	clock.Advance(DefaultFetchInterval)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "back")), testUser, testClient)
	if err != nil {
		wantSub(t, err, SubKeyUnavailable)
	}
	waitFor(t, func() bool { return log.count(FetchOK) == 1 })
	if _, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "back-2")), testUser, testClient); err != nil {
		t.Fatalf("after the host came back: %v", err)
	}
	forger := signingKey{kid: "kid-made-up", priv: key.priv}
	_, err = v.Verify(bg, forger.mint(t, validClaims(clock.Now(), "forged")), testUser, testClient)
	wantSub(t, err, SubUnknownKID)
}

// While the key host's last request failed, a lookup waits for the fetch
// it starts at most downWait, though the bucket lets fetches through: a
// host that hangs holds logins for FetchTimeout as the outage begins, not
// again at every fetch. The fetch goes on in the background; once one
// gets an answer, lookups wait for theirs again and tokens verify.
func TestLookupsDoNotWaitOnAHostThatIsDown(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	other := newSigningKey(t, "kid-other")
	host := newKeyHost(t, key, other)
	log := &fetchLog{}
	cfg := testConfig(host, clock)
	cfg.Observer = log // FetchTimeout the default 5 s
	v := newTestVerifier(t, cfg)

	host.down.Store(true)
	_, err := v.Verify(bg, key.mint(t, validClaims(clock.Now(), "first")), testUser, testClient)
	wantSub(t, err, SubKeyUnavailable)
	waitFor(t, func() bool { return log.count(FetchError) == 1 })

	// Now the host hangs. The bucket (burst 3) still allows a fetch: the
	// other kid's starts one, and the lookup returns with it in flight
	// (after downWait, well before the fetch's FetchTimeout).
	gate := make(chan struct{})
	host.gate = gate
	host.down.Store(false)
	_, err = v.Verify(bg, other.mint(t, validClaims(clock.Now(), "second")), testUser, testClient)
	wantSub(t, err, SubKeyUnavailable)
	v.keys.fmu.Lock()
	_, inFlight := v.keys.flights[other.kid]
	v.keys.fmu.Unlock()
	if !inFlight {
		t.Fatal("the lookup waited for a fetch while the key host's last request had failed (or started none)")
	}

	// The host answers again: that fetch caches the other kid, and from
	// then on lookups wait for their fetch.
	close(gate)
	waitFor(t, func() bool { return log.count(FetchOK) == 1 })
	for _, k := range []signingKey{other, key} {
		if _, err := v.Verify(bg, k.mint(t, validClaims(clock.Now(), "after-"+k.kid)), testUser, testClient); err != nil {
			t.Fatalf("%s after the host answered again: %v", k.kid, err)
		}
	}
}
