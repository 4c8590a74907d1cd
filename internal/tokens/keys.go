// Package tokens seals small claim sets into compact, encrypted and
// authenticated tokens (one XChaCha20-Poly1305 pass, the key id and the
// purpose bound as associated data) for the guard's own cookies: the
// session cookie set after a login, step-up state and continuations.
//
// Keys carry an id, so a token names the key that sealed it; rotation adds a
// new current key and keeps the previous ones for a grace period, so tokens
// issued just before a rotation keep opening.
package tokens

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Key is one generation of secret material. The secret is never used
// directly: the token cipher's key (and the two keys of the previous
// format) are derived from it with distinct labels, so no key serves two
// algorithms.
type Key struct {
	ID      string    `json:"id"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`

	// aead seals and opens tokens; cipher.AEAD is safe for concurrent use.
	aead cipher.AEAD
	// enc and sig open tokens of the previous format (legacy.go).
	enc, sig []byte
}

// GenerateKey makes a new random key created at now.
func GenerateKey(now time.Time) (Key, error) {
	var id [8]byte
	secret := make([]byte, 32)
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, err
	}
	return Key{ID: hex.EncodeToString(id[:]), Secret: secret, Created: now.UTC()}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("login_guard/v1/" + label))
	return m.Sum(nil)
}

// Stored is what the guard keeps in Caddy storage: the rotating token keys
// and one long-lived pseudonymisation secret. The latter never rotates
// because a login and the logout that follows it, possibly weeks apart,
// must map the app's session cookie to the same SmartID session id.
type Stored struct {
	Keys       []Key  `json:"keys"`
	Pseudonyms []byte `json:"pseudonyms"`
}

// NewStored makes fresh material.
func NewStored(now time.Time) (Stored, error) {
	k, err := GenerateKey(now)
	if err != nil {
		return Stored{}, err
	}
	p := make([]byte, 32)
	if _, err := rand.Read(p); err != nil {
		return Stored{}, err
	}
	return Stored{Keys: []Key{k}, Pseudonyms: p}, nil
}

// ParseStored reads stored material and checks it is usable.
func ParseStored(b []byte) (Stored, error) {
	var s Stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Stored{}, fmt.Errorf("reading key material: %v", err)
	}
	if len(s.Keys) == 0 || len(s.Pseudonyms) < 32 {
		return Stored{}, errors.New("reading key material: no keys")
	}
	for _, k := range s.Keys {
		if k.ID == "" || len(k.Secret) < 32 {
			return Stored{}, errors.New("reading key material: malformed key")
		}
	}
	return s, nil
}

// Rotate returns the material with a new current key when the newest is
// older than every, and without keys that stopped being current more than
// grace ago. changed tells the caller to write it back.
func (s Stored) Rotate(now time.Time, every, grace time.Duration) (out Stored, changed bool, err error) {
	keys := append([]Key(nil), s.Keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.After(keys[j].Created) })
	if every > 0 && now.Sub(keys[0].Created) >= every {
		k, err := GenerateKey(now)
		if err != nil {
			return s, false, err
		}
		keys = append([]Key{k}, keys...)
		changed = true
	}
	// keys[i] stopped being current when keys[i-1] was created.
	kept := keys[:1]
	for i := 1; i < len(keys); i++ {
		if now.Sub(keys[i-1].Created) < grace {
			kept = append(kept, keys[i])
		} else {
			changed = true
		}
	}
	return Stored{Keys: kept, Pseudonyms: s.Pseudonyms}, changed, nil
}
