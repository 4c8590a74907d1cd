package loginid

import (
	"context"
	"crypto/ecdsa"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// jwksSource reads a JSON Web Key Set and offers every usable key in it.
type jwksSource struct {
	url     string
	client  *http.Client
	max     int64
	maxKeys int
}

// jwksFlight is the one flight key in JWKS mode: one fetch of the set
// answers every kid.
const jwksFlight = "\x00jwks"

func (s *jwksSource) flightKey(string) string { return jwksFlight }

func (s *jwksSource) fetch(ctx context.Context, _ string) (map[string]*ecdsa.PublicKey, int, error) {
	body, status, err := get(ctx, s.client, s.url, "application/jwk-set+json, application/json", s.max)
	if err != nil {
		return nil, status, err
	}
	// A key of a type jwx cannot parse must not hide the others.
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, status, err
	}
	return usableKeys(set, s.maxKeys), status, nil
}

// usableKeys keeps the keys ES256 can verify with: kty EC on P-256, a
// valid kid, "use" absent or "sig", "alg" absent or ES256. At most max keys
// are taken so a huge set cannot grow memory. Private members, if a set
// ever carried them, are dropped: only the public half is kept.
func usableKeys(set jwk.Set, max int) map[string]*ecdsa.PublicKey {
	out := make(map[string]*ecdsa.PublicKey)
	for i := 0; i < set.Len() && len(out) < max; i++ {
		k, ok := set.Key(i)
		if !ok || k.KeyType() != jwa.EC || !validKID(k.KeyID()) {
			continue
		}
		if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
			continue
		}
		if a := k.Algorithm().String(); a != "" && a != jwa.ES256.String() {
			continue
		}
		raw, err := jwk.PublicRawKeyOf(k)
		if err != nil {
			continue
		}
		pk, err := p256Key(raw)
		if err != nil {
			continue
		}
		out[k.KeyID()] = pk
	}
	return out
}
