package loginid

import (
	"strings"
	"testing"
)

// TestKeySource: the keys come from key_url, or in mode pem from a
// region, never both (one would be ignored), never neither.
func TestKeySource(t *testing.T) {
	for _, c := range []struct{ mode, keyURL, region, want, err string }{
		{ModePEM, "https://jwt.example.com/certs", "", "https://jwt.example.com/certs", ""},
		{ModeJWKS, "https://example.com/jwks.json", "", "https://example.com/jwks.json", ""},
		{ModePEM, "", "usw1", "https://jwt.usw1.loginid.io/certs", ""},
		{ModePEM, "https://jwt.example.com/certs", "usw1", "", "give key_url or region, not both"},
		{ModeJWKS, "", "usw1", "", "region is for mode pem"},
		{ModePEM, "", "", "", "key_url is required"},
		{ModePEM, "", "US W1", "", "region may hold only"},
	} {
		got, err := KeySource(c.mode, c.keyURL, c.region)
		if c.err == "" && (err != nil || got != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("KeySource(%q, %q, %q) = %q, %v; want %q, %q", c.mode, c.keyURL, c.region, got, err, c.want, c.err)
		}
	}
}
