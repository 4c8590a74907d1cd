package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// ErrInvalid is returned for any token that does not open: forged,
// tampered, sealed by an unknown key, for another purpose, or expired. The
// reason is kept coarse on purpose; Reason tells the audit log which.
var ErrInvalid = errors.New("invalid token")

// Error says why a token was refused, for audit lines.
type Error struct{ Reason string }

func (e *Error) Error() string { return "invalid token: " + e.Reason }
func (e *Error) Unwrap() error { return ErrInvalid }

func invalid(reason string) error { return &Error{Reason: reason} }

// Keyset seals with the newest key and opens with any key it holds.
type Keyset struct {
	keys       []Key // newest first
	byID       map[string]*Key
	pseudonyms []byte
}

// NewKeyset prepares stored material for use.
func NewKeyset(s Stored) (*Keyset, error) {
	if len(s.Keys) == 0 {
		return nil, errors.New("keyset: no keys")
	}
	ks := &Keyset{keys: append([]Key(nil), s.Keys...), byID: map[string]*Key{}, pseudonyms: s.Pseudonyms}
	sort.Slice(ks.keys, func(i, j int) bool { return ks.keys[i].Created.After(ks.keys[j].Created) })
	for i := range ks.keys {
		k := &ks.keys[i]
		k.enc = derive(k.Secret, "enc")
		k.sig = derive(k.Secret, "sig")
		ks.byID[k.ID] = k
	}
	return ks, nil
}

// CurrentID is the id of the key new tokens are sealed with.
func (ks *Keyset) CurrentID() string { return ks.keys[0].ID }

type envelope struct {
	Purpose string          `json:"pur"`
	Issued  int64           `json:"iat"`
	Expires int64           `json:"exp"`
	Data    json.RawMessage `json:"dat"`
}

// Seal signs then encrypts data for purpose, valid for ttl from now. The
// purpose is inside the signed payload so a token minted for one use (a
// session) cannot be replayed as another (a step-up state).
func (ks *Keyset) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(envelope{Purpose: purpose, Issued: now.Unix(), Expires: now.Add(ttl).Unix(), Data: raw})
	if err != nil {
		return "", err
	}
	k := &ks.keys[0]
	sh := jws.NewHeaders()
	_ = sh.Set(jws.KeyIDKey, k.ID)
	signed, err := jws.Sign(payload, jws.WithKey(jwa.HS256, k.sig, jws.WithProtectedHeaders(sh)))
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	eh := jwe.NewHeaders()
	_ = eh.Set(jwe.KeyIDKey, k.ID)
	out, err := jwe.Encrypt(signed, jwe.WithKey(jwa.DIRECT, k.enc), jwe.WithContentEncryption(jwa.A256GCM), jwe.WithProtectedHeaders(eh))
	if err != nil {
		return "", fmt.Errorf("encrypting token: %w", err)
	}
	return string(out), nil
}

// Open decrypts and verifies a token sealed for purpose and decodes its
// data into dst. Errors wrap ErrInvalid.
func (ks *Keyset) Open(purpose, token string, now time.Time, dst any) error {
	_, err := ks.OpenUntil(purpose, token, now, dst)
	return err
}

// OpenUntil is Open that also returns when the token expires, so a caller
// may cache the result exactly as long as the token is valid.
func (ks *Keyset) OpenUntil(purpose, token string, now time.Time, dst any) (time.Time, error) {
	var zero time.Time
	if len(token) > maxTokenLen {
		return zero, invalid("too_long")
	}
	msg, err := jwe.Parse([]byte(token))
	if err != nil {
		return zero, invalid("malformed")
	}
	k, ok := ks.byID[msg.ProtectedHeaders().KeyID()]
	if !ok {
		return zero, invalid("unknown_key")
	}
	if msg.ProtectedHeaders().Algorithm() != jwa.DIRECT || msg.ProtectedHeaders().ContentEncryption() != jwa.A256GCM {
		return zero, invalid("algorithm")
	}
	signed, err := jwe.Decrypt([]byte(token), jwe.WithKey(jwa.DIRECT, k.enc))
	if err != nil {
		return zero, invalid("decrypt")
	}
	payload, err := jws.Verify(signed, jws.WithKey(jwa.HS256, k.sig))
	if err != nil {
		return zero, invalid("signature")
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return zero, invalid("malformed")
	}
	if env.Purpose != purpose {
		return zero, invalid("purpose")
	}
	if now.Unix() >= env.Expires {
		return zero, invalid("expired")
	}
	if err := json.Unmarshal(env.Data, dst); err != nil {
		return zero, invalid("malformed")
	}
	return time.Unix(env.Expires, 0), nil
}

// maxTokenLen bounds the work an attacker can cause with a huge cookie.
const maxTokenLen = 8 << 10

// Pseudonym maps a secret value (an app's session cookie) to a stable,
// non-reversible identifier, so the raw token never leaves the guard.
func (ks *Keyset) Pseudonym(label, value string) string {
	m := hmac.New(sha256.New, ks.pseudonyms)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
