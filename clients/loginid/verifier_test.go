package loginid

import (
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// TestVerifyTable runs one token per case against a PEM-mode verifier whose
// key host knows testKID.
func TestVerifyTable(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	other := newSigningKey(t, testKID) // same kid, different key
	host := newKeyHost(t, key)
	v := newTestVerifier(t, testConfig(host, clock))
	now := clock.Now()

	with := func(mut func(c map[string]any)) map[string]any {
		c := validClaims(now, "n-"+strings.Repeat("x", 8))
		mut(c)
		return c
	}
	nonce := 0
	fresh := func(mut func(c map[string]any)) map[string]any {
		nonce++
		return with(func(c map[string]any) {
			c["nonce"] = "nonce-" + time.Duration(nonce).String()
			mut(c)
		})
	}
	none := func(map[string]any) {}

	cases := []struct {
		name  string
		token func() string
		user  string
		sub   string
	}{
		{"valid", func() string { return key.mint(t, fresh(none)) }, testUser, ""},
		{"expired", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() }))
		}, testUser, SubExpired},
		{"expired within skew passes", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["exp"] = now.Add(-29 * time.Second).Unix() }))
		}, testUser, ""},
		{"no exp", func() string { return key.mint(t, fresh(func(c map[string]any) { delete(c, "exp") })) }, testUser, SubMissingExp},
		{"no iat", func() string { return key.mint(t, fresh(func(c map[string]any) { delete(c, "iat") })) }, testUser, SubMissingIat},
		{"future iat", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["iat"] = now.Add(31 * time.Second).Unix() }))
		}, testUser, SubIatFuture},
		{"iat ahead within skew passes", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["iat"] = now.Add(29 * time.Second).Unix() }))
		}, testUser, ""},
		{"too old", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["iat"] = now.Add(-2*time.Minute - 31*time.Second).Unix() }))
		}, testUser, SubTooOld},
		{"nbf ahead", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }))
		}, testUser, SubNotYetValid},
		{"exp as string is malformed", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["exp"] = "tomorrow" }))
		}, testUser, SubMalformed},
		{"alg none", func() string {
			return b64json(t, map[string]any{"alg": "none", "kid": testKID}) + "." + b64json(t, fresh(none)) + "."
		}, testUser, SubAlgNotAllowed},
		{"HS256 keyed with the public key", func() string { return hs256WithPublicKey(t, key, fresh(none)) }, testUser, SubAlgNotAllowed},
		{"ES384 header on an ES256 signature", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES384", "kid": testKID}, fresh(none))
		}, testUser, SubAlgNotAllowed},
		{"crit header", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES256", "kid": testKID, "crit": []string{"exp"}, "exp": 1}, fresh(none))
		}, testUser, SubCritHeader},
		{"missing kid", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES256"}, fresh(none))
		}, testUser, SubMissingKID},
		{"kid with URL syntax", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES256", "kid": "a&kid=b"}, fresh(none))
		}, testUser, SubInvalidKID},
		{"kid too long", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES256", "kid": strings.Repeat("a", 129)}, fresh(none))
		}, testUser, SubInvalidKID},
		{"unknown kid", func() string { return newSigningKey(t, "no-such-kid").mint(t, fresh(none)) }, testUser, SubUnknownKID},
		{"signed by another key", func() string { return other.mint(t, fresh(none)) }, testUser, SubBadSignature},
		{"tampered payload", func() string {
			tok := key.mint(t, fresh(none))
			parts := strings.Split(tok, ".")
			forged := fresh(func(c map[string]any) { c["udata"] = "admin" })
			return parts[0] + "." + b64json(t, forged) + "." + parts[2]
		}, "admin", SubBadSignature},
		{"wrong user", func() string { return key.mint(t, fresh(none)) }, "jane.doe", SubWrongUser},
		{"case-different user", func() string { return key.mint(t, fresh(none)) }, "John.Doe", SubWrongUser},
		{"user with trailing space", func() string { return key.mint(t, fresh(none)) }, testUser + " ", SubWrongUser},
		{"no expected user", func() string { return key.mint(t, fresh(none)) }, "", SubMissingUser},
		{"no user claim", func() string { return key.mint(t, fresh(func(c map[string]any) { delete(c, "udata") })) }, testUser, SubMissingUser},
		{"registration token", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["type"] = "fido2_register" }))
		}, testUser, SubRegistration},
		{"no type", func() string { return key.mint(t, fresh(func(c map[string]any) { delete(c, "type") })) }, testUser, SubWrongType},
		{"wrong audience", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["aud"] = "someone-else" }))
		}, testUser, SubWrongAudience},
		{"audience list naming us", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["aud"] = []string{"x", testClientID} }))
		}, testUser, ""},
		{"no audience", func() string { return key.mint(t, fresh(func(c map[string]any) { delete(c, "aud") })) }, testUser, SubWrongAudience},
		{"wrong issuer", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["iss"] = "evil.example" }))
		}, testUser, SubWrongIssuer},
		{"wrong namespace", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["nid"] = "other-ns" }))
		}, testUser, SubWrongNamespace},
		{"not a JWS", func() string { return "hello" }, testUser, SubMalformed},
		{"empty", func() string { return "" }, testUser, SubMalformed},
		{"JSON serialization", func() string { return `{"payload":"e30","signatures":[]}` }, testUser, SubMalformed},
		{"bad base64", func() string { return "!!!.e30.e30" }, testUser, SubMalformed},
		{"too long", func() string {
			return key.mint(t, fresh(func(c map[string]any) { c["pad"] = strings.Repeat("p", 9000) }))
		}, testUser, SubMalformed},
		{"payload not an object", func() string {
			return es256Sign(t, key.priv, map[string]any{"alg": "ES256", "kid": testKID}, nil)
		}, testUser, SubMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := v.Verify(bg, tc.token(), tc.user, testClient)
			wantSub(t, err, tc.sub)
			if tc.sub == "" && (cl.User != testUser || cl.KeyID != testKID || cl.Type != "fido2_login") {
				t.Fatalf("claims = %+v", cl)
			}
		})
	}
	// kids refused by validation never reach the host; the unknown one did.
	for _, q := range host.observed {
		if kid := q.Get("kid"); kid != testKID && kid != "no-such-kid" {
			t.Errorf("host was asked for kid %q", kid)
		}
	}
}

// The error never echoes the token, the user or claim values.
func TestErrorMessagesCarryNoTokenData(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	v := newTestVerifier(t, testConfig(newKeyHost(t, key), clock))
	claims := validClaims(clock.Now(), "secret-nonce")
	tok := key.mint(t, claims)
	_, err := v.Verify(bg, tok, "someone-else", testClient)
	wantSub(t, err, SubWrongUser)
	for _, leak := range []string{tok, testUser, "someone-else", "secret-nonce", testClientID} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("error %q leaks %q", err, leak)
		}
	}
	if err.(*Error).Retryable() {
		t.Fatal("wrong_user must not be retryable")
	}
}

// A token minted by jwx itself (not this file's hand-rolled signer)
// verifies: the two agree on the ES256 wire format.
func TestVerifyInteropWithJWXSigner(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	v := newTestVerifier(t, testConfig(newKeyHost(t, key), clock))
	tok := jwt.New()
	for k, val := range validClaims(clock.Now(), "jwx-nonce") {
		if err := tok.Set(k, val); err != nil {
			t.Fatal(err)
		}
	}
	hdr := jwsHeaders(t, testKID)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key.priv, jwsWithHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := v.Verify(bg, string(signed), testUser, testClient)
	wantSub(t, err, "")
	if cl.Nonce != "jwx-nonce" || !cl.IssuedAt.Equal(clock.Now()) {
		t.Fatalf("claims = %+v", cl)
	}
}

func TestReplay(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	v := newTestVerifier(t, testConfig(newKeyHost(t, key), clock))
	now := clock.Now()

	t.Run("same nonce twice", func(t *testing.T) {
		c := validClaims(now, "nonce-A")
		_, err := v.Verify(bg, key.mint(t, c), testUser, testClient)
		wantSub(t, err, "")
		// A different token (new signature) with the same nonce.
		_, err = v.Verify(bg, key.mint(t, c), testUser, testClient)
		wantSub(t, err, SubReplayed)
	})
	t.Run("no nonce: same token twice", func(t *testing.T) {
		c := validClaims(now, "")
		delete(c, "nonce")
		tok := key.mint(t, c)
		_, err := v.Verify(bg, tok, testUser, testClient)
		wantSub(t, err, "")
		_, err = v.Verify(bg, tok, testUser, testClient)
		wantSub(t, err, SubReplayed)
		// The malleated signature verifies but is the same use.
		_, err = v.Verify(bg, malleate(t, tok), testUser, testClient)
		wantSub(t, err, SubReplayed)
	})
	t.Run("no nonce: the same token spelt otherwise", func(t *testing.T) {
		// A set bit among the unused low bits of a segment's last
		// character decodes to the same bytes, and the signature checks
		// against their canonical encoding: without the refusal each
		// spelling was a new signing input, a new replay key.
		for pad := 0; pad < 3; pad++ {
			c := validClaims(now, "")
			delete(c, "nonce")
			c["pad"] = strings.Repeat("p", pad)
			hdr := map[string]any{"alg": "ES256", "typ": "JWT", "kid": testKID, "pad": strings.Repeat("p", pad)}
			tok := es256Sign(t, key.priv, hdr, c)
			respelt := 0
			for seg := 0; seg < 2; seg++ {
				other, ok := respell(tok, seg)
				if !ok {
					continue
				}
				respelt++
				_, err := v.Verify(bg, other, testUser, testClient)
				wantSub(t, err, SubMalformed)
			}
			if respelt == 0 {
				t.Fatalf("pad %d: no segment with unused bits", pad)
			}
			_, err := v.Verify(bg, tok, testUser, testClient)
			wantSub(t, err, "")
			if other, ok := respell(tok, 1); ok {
				_, err = v.Verify(bg, other, testUser, testClient)
				wantSub(t, err, SubMalformed)
			}
		}
	})
	t.Run("last instant of the token's life", func(t *testing.T) {
		// The token passes until iat+max_age+skew inclusive, so its use
		// must be remembered past that instant: a cache dropping it at
		// that instant (or a millisecond before: Redis counts whole
		// milliseconds) let it pass once more then.
		c := validClaims(clock.Now(), "nonce-last")
		tok := key.mint(t, c)
		_, err := v.Verify(bg, tok, testUser, testClient)
		wantSub(t, err, "")
		last := clock.Now().Add(DefaultMaxAge + DefaultClockSkew)
		clock.Set(last)
		defer clock.Set(now)
		_, err = v.Verify(bg, tok, testUser, testClient)
		wantSub(t, err, SubReplayed)
		clock.Set(last.Add(time.Nanosecond))
		_, err = v.Verify(bg, tok, testUser, testClient)
		wantSub(t, err, SubTooOld)
	})
	t.Run("refused token is not recorded", func(t *testing.T) {
		c := validClaims(now, "nonce-B")
		_, err := v.Verify(bg, key.mint(t, c), "wrong", testClient)
		wantSub(t, err, SubWrongUser)
		_, err = v.Verify(bg, key.mint(t, c), testUser, testClient)
		wantSub(t, err, "")
	})
}

func TestReplayCacheFull(t *testing.T) {
	clock := newTestClock()
	key := newSigningKey(t, testKID)
	cfg := testConfig(newKeyHost(t, key), clock)
	cfg.ReplayCacheSize = 2
	v := newTestVerifier(t, cfg)
	now := clock.Now()
	for i, n := range []string{"a", "b"} {
		if _, err := v.Verify(bg, key.mint(t, validClaims(now, n)), testUser, testClient); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, err := v.Verify(bg, key.mint(t, validClaims(now, "c")), testUser, testClient)
	wantSub(t, err, SubReplayCacheFull)
	if !err.(*Error).Retryable() {
		t.Fatal("replay_cache_full must be retryable")
	}
	// Once the entries pass iat+max_age+skew they are purged and a fresh
	// token fits; the old ones are too old by then anyway.
	clock.Advance(2*time.Minute + 30*time.Second + time.Second)
	_, err = v.Verify(bg, key.mint(t, validClaims(clock.Now(), "c")), testUser, testClient)
	wantSub(t, err, "")
}
