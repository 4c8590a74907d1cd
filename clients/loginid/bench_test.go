package loginid

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkVerifyCachedKey is the hot path: a valid token whose key is
// cached, each with a fresh nonce so the replay cache accepts it.
func BenchmarkVerifyCachedKey(b *testing.B) {
	clock := newTestClock()
	key := newSigningKey(b, testKID)
	cfg := testConfig(newKeyHost(b, key), clock)
	cfg.ReplayCacheSize = b.N + 1
	cfg.ReplayPerUser = b.N + 1 // one user, from one client
	cfg.ReplayPerClient = b.N + 1
	v := newTestVerifier(b, cfg)
	if _, err := v.Verify(bg, key.mint(b, validClaims(clock.Now(), "warm")), testUser, testClient); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = key.mint(b, validClaims(clock.Now(), fmt.Sprint("bench-", i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(bg, tokens[i], testUser, testClient); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRejectWrongUser measures a refused token (signature
// checked, claims read, no replay entry written).
func BenchmarkVerifyRejectWrongUser(b *testing.B) {
	clock := newTestClock()
	key := newSigningKey(b, testKID)
	v := newTestVerifier(b, testConfig(newKeyHost(b, key), clock))
	tok := key.mint(b, validClaims(clock.Now(), "x"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(bg, tok, "mallory", testClient); SubReason(err) != SubWrongUser {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRejectUnknownKIDFlood is the cost of one request of a
// kid flood once the bucket is empty.
func BenchmarkVerifyRejectUnknownKIDFlood(b *testing.B) {
	clock := newTestClock()
	key := newSigningKey(b, testKID)
	cfg := testConfig(newKeyHost(b, key), clock)
	cfg.FetchBurst = 1
	v := newTestVerifier(b, cfg)
	tokens := make([]string, 256)
	for i := range tokens {
		tokens[i] = signingKey{kid: fmt.Sprint("flood-", i), priv: key.priv}.mint(b, validClaims(clock.Now(), "f"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(bg, tokens[i%len(tokens)], testUser, testClient); SubReason(err) != SubUnknownKID {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryReplayCache(b *testing.B) {
	c := NewMemoryReplayCache(b.N + 1)
	now := time.Unix(1_700_000_000, 0)
	keys := make([]ReplayKey, b.N)
	for i := range keys {
		keys[i] = rkey(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Remember(keys[i], now.Add(time.Minute), now); err != nil {
			b.Fatal(err)
		}
	}
}
