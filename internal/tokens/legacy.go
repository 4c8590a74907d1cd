package tokens

import (
	"encoding/json"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Tokens of the previous format, a JWS (HS256) inside a JWE (dir,
// A256GCM), are still opened so that cookies issued before an upgrade keep
// working until they expire; nothing seals them any more. Such a token is
// five dot-separated parts, which the current format never contains. It
// opens only while the key that sealed it is in the keyset, so rotation's
// grace bounds it as it bounds current tokens.

type legacyEnvelope struct {
	Purpose string          `json:"pur"`
	Issued  int64           `json:"iat"`
	Expires int64           `json:"exp"`
	Data    json.RawMessage `json:"dat"`
}

func (ks *Keyset) openLegacy(purpose, token string, now time.Time, dst any) (time.Time, error) {
	var zero time.Time
	msg, err := jwe.Parse([]byte(token))
	if err != nil {
		return zero, errMalformed
	}
	k, ok := ks.byID[msg.ProtectedHeaders().KeyID()]
	if !ok {
		return zero, errUnknownKey
	}
	if msg.ProtectedHeaders().Algorithm() != jwa.DIRECT || msg.ProtectedHeaders().ContentEncryption() != jwa.A256GCM {
		return zero, invalid("algorithm")
	}
	signed, err := jwe.Decrypt([]byte(token), jwe.WithKey(jwa.DIRECT, k.enc))
	if err != nil {
		return zero, errForged
	}
	payload, err := jws.Verify(signed, jws.WithKey(jwa.HS256, k.sig))
	if err != nil {
		return zero, errForged
	}
	var env legacyEnvelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return zero, errMalformed
	}
	if env.Purpose != purpose {
		return zero, errForged
	}
	if now.Unix() >= env.Expires {
		return zero, errExpired
	}
	if err := json.Unmarshal(env.Data, dst); err != nil {
		return zero, errMalformed
	}
	return time.Unix(env.Expires, 0), nil
}
