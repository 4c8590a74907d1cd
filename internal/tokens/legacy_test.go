package tokens

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// sealLegacy is the previous release's Seal, verbatim but for names: a
// JWS (HS256) inside a JWE (dir, A256GCM).
func sealLegacy(t *testing.T, ks *Keyset, purpose string, data any, now time.Time, ttl time.Duration) string {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(legacyEnvelope{Purpose: purpose, Issued: now.Unix(), Expires: now.Add(ttl).Unix(), Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	k := &ks.keys[0]
	sh := jws.NewHeaders()
	_ = sh.Set(jws.KeyIDKey, k.ID)
	signed, err := jws.Sign(payload, jws.WithKey(jwa.HS256, k.sig, jws.WithProtectedHeaders(sh)))
	if err != nil {
		t.Fatal(err)
	}
	eh := jwe.NewHeaders()
	_ = eh.Set(jwe.KeyIDKey, k.ID)
	out, err := jwe.Encrypt(signed, jwe.WithKey(jwa.DIRECT, k.enc), jwe.WithContentEncryption(jwa.A256GCM), jwe.WithProtectedHeaders(eh))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestLegacyTokensOpen: a cookie sealed by the previous release opens
// until it expires, and is refused for another purpose, tampered, or once
// its key has left the keyset.
func TestLegacyTokensOpen(t *testing.T) {
	s, _ := NewStored(t0)
	ks, _ := NewKeyset(s)
	old := sealLegacy(t, ks, "session", sess{"jlopez", "abc"}, t0, time.Hour)

	var got sess
	exp, err := ks.OpenUntil("session", old, t0.Add(time.Minute), &got)
	if err != nil || got != (sess{"jlopez", "abc"}) || !exp.Equal(t0.Add(time.Hour)) {
		t.Fatalf("legacy token: %v %+v %v", err, got, exp)
	}
	tampered := []byte(old)
	tampered[len(tampered)-5] ^= 1
	day := 24 * time.Hour
	s2, _, _ := s.Rotate(t0.Add(8*day), 7*day, day)
	s3, _, _ := s2.Rotate(t0.Add(10*day), 7*day, day)
	rotatedOut, _ := NewKeyset(s3)
	for _, c := range []struct {
		name, purpose, token, reason string
		at                           time.Time
		ks                           *Keyset
	}{
		{"expired", "session", old, "expired", t0.Add(time.Hour), ks},
		{"other purpose", "stepup", old, "forged", t0, ks},
		{"tampered", "session", string(tampered), "", t0, ks},
		{"key gone", "session", old, "unknown_key", t0, rotatedOut},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.ks.Open(c.purpose, c.token, c.at, &got)
			var e *Error
			if !errors.As(err, &e) || (c.reason != "" && e.Reason != c.reason) {
				t.Fatalf("want reason %q, got %v", c.reason, err)
			}
		})
	}
}
