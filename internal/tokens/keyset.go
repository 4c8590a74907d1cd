package tokens

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
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

// The reasons a token is refused. ReasonForged covers every token whose
// authentication tag does not verify: tampered, truncated, or sealed for
// another purpose (the purpose is authenticated, not stored, so a token
// for one purpose is indistinguishable from a forgery under another).
var (
	errTooLong    = invalid("too_long")
	errMalformed  = invalid("malformed")
	errUnknownKey = invalid("unknown_key")
	errForged     = invalid("forged")
	errExpired    = invalid("expired")
)

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
		if len(k.ID) > maxKeyIDLen {
			return nil, fmt.Errorf("keyset: key id %q longer than %d bytes", k.ID, maxKeyIDLen)
		}
		aead, err := chacha20poly1305.NewX(derive(k.Secret, "aead-v2"))
		if err != nil {
			return nil, err
		}
		k.aead = aead
		k.enc = derive(k.Secret, "enc")
		k.sig = derive(k.Secret, "sig")
		ks.byID[k.ID] = k
	}
	return ks, nil
}

// SameMaterial reports whether o holds exactly the keys (ids and
// secrets) and the pseudonym key ks holds: a reload of the key material
// that changed nothing, after which what ks sealed or opened still
// stands.
func (ks *Keyset) SameMaterial(o *Keyset) bool {
	if o == nil || len(ks.keys) != len(o.keys) || !bytes.Equal(ks.pseudonyms, o.pseudonyms) {
		return false
	}
	for i := range ks.keys {
		a, b := &ks.keys[i], &o.keys[i]
		if a.ID != b.ID || !bytes.Equal(a.Secret, b.Secret) {
			return false
		}
	}
	return true
}

// CurrentID is the id of the key new tokens are sealed with.
func (ks *Keyset) CurrentID() string { return ks.keys[0].ID }

// The token format (version 2). A token is the unpadded base64url text of
//
//	version (1 byte, 2) | key id length (1 byte) | key id | nonce (24 bytes) | ciphertext and tag
//
// sealed by XChaCha20-Poly1305 under a key derived from the named key's
// secret. The plaintext is the expiry (Unix seconds, 8 bytes big-endian),
// one byte naming the data's encoding, and the data: its JSON, or, for a
// type that implements encoding.BinaryAppender (and whose pointer
// implements encoding.BinaryUnmarshaler), its own binary form, which
// spares the hot path reflection. The associated data binds the version, the
// key id and the purpose, so a token opens only for the purpose it was
// sealed for and only under the key it names. The 24-byte random nonce
// makes a collision negligible however many tokens one key seals.
const (
	formatV2    = 2
	maxKeyIDLen = 64
	expiryLen   = 8
	codecJSON   = 'j'
	codecBinary = 'b'
	// plainHead is the plaintext before the data: expiry and codec.
	plainHead = expiryLen + 1
	aadPrefix = "login_guard/token/v2\x00"
)

var b64 = base64.RawURLEncoding

// maxTokenLen bounds the work an attacker can cause with a huge cookie.
const maxTokenLen = 8 << 10

// Seal encrypts data (as JSON) for purpose, valid for ttl from now.
func (ks *Keyset) Seal(purpose string, data any, now time.Time, ttl time.Duration) (string, error) {
	tok, err := ks.AppendSeal(nil, purpose, data, now, ttl)
	return string(tok), err
}

// AppendSeal is Seal appending the token's text to dst, so a caller
// building a Set-Cookie line writes the token straight into it.
func (ks *Keyset) AppendSeal(dst []byte, purpose string, data any, now time.Time, ttl time.Duration) ([]byte, error) {
	codec := byte(codecJSON)
	var raw []byte
	var err error
	if ba, ok := data.(encoding.BinaryAppender); ok {
		codec = codecBinary
		scratch := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(scratch)
		raw, err = ba.AppendBinary((*scratch)[:0])
		if cap(raw) <= maxScratch {
			*scratch = raw[:0]
		}
	} else {
		raw, err = json.Marshal(data)
	}
	if err != nil {
		return dst, err
	}
	k := &ks.keys[0]
	hdrLen := 2 + len(k.ID)
	n := hdrLen + chacha20poly1305.NonceSizeX + plainHead + len(raw) + chacha20poly1305.Overhead
	// One allocation holds the token and, past its end, the associated
	// data (which would escape on its own through the AEAD interface).
	mem := make([]byte, n+aadLen(hdrLen, purpose))
	buf := mem[: hdrLen+chacha20poly1305.NonceSizeX : n]
	buf[0], buf[1] = formatV2, byte(len(k.ID))
	copy(buf[2:], k.ID)
	nonce := buf[hdrLen:]
	if _, err := rand.Read(nonce); err != nil {
		return dst, fmt.Errorf("sealing token: %w", err)
	}
	// The plaintext is written where its ciphertext goes and sealed in
	// place.
	plain := binary.BigEndian.AppendUint64(buf[len(buf):], uint64(now.Add(ttl).Unix()))
	plain = append(plain, codec)
	plain = append(plain, raw...)
	aad := appendAAD(mem[n:n], buf[:hdrLen], purpose)
	out := k.aead.Seal(buf, nonce, plain, aad)
	return b64.AppendEncode(dst, out), nil
}

func aadLen(hdrLen int, purpose string) int { return len(aadPrefix) + hdrLen + len(purpose) }

// appendAAD is the associated data: a fixed label, the token's header
// (version and key id) and the purpose.
func appendAAD(dst, header []byte, purpose string) []byte {
	dst = append(dst, aadPrefix...)
	dst = append(dst, header...)
	return append(dst, purpose...)
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
		return zero, errTooLong
	}
	if strings.IndexByte(token, '.') >= 0 {
		return ks.openLegacy(purpose, token, now, dst)
	}
	// One allocation for the decoded token and the associated data.
	size := b64.DecodedLen(len(token))
	mem := make([]byte, size+aadLen(2+maxKeyIDLen, purpose))
	m, err := b64.Decode(mem[:size], []byte(token))
	buf := mem[:m:size]
	if err != nil || len(buf) < 2 || buf[0] != formatV2 {
		return zero, errMalformed
	}
	hdrLen := 2 + int(buf[1])
	if len(buf) < hdrLen+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead+plainHead {
		return zero, errMalformed
	}
	k, ok := ks.byID[string(buf[2:hdrLen])]
	if !ok {
		return zero, errUnknownKey
	}
	nonce := buf[hdrLen : hdrLen+chacha20poly1305.NonceSizeX]
	sealed := buf[hdrLen+chacha20poly1305.NonceSizeX:]
	aad := appendAAD(mem[size:size], buf[:hdrLen], purpose)
	plain, err := k.aead.Open(sealed[:0], nonce, sealed, aad)
	if err != nil {
		return zero, errForged
	}
	exp := int64(binary.BigEndian.Uint64(plain))
	if now.Unix() >= exp {
		return zero, errExpired
	}
	if err := decode(plain[expiryLen], plain[plainHead:], dst); err != nil {
		return zero, errMalformed
	}
	return time.Unix(exp, 0), nil
}

// decode reads the data in the codec it was sealed with; a token whose
// codec dst cannot read is malformed for it.
func decode(codec byte, data []byte, dst any) error {
	switch codec {
	case codecJSON:
		return json.Unmarshal(data, dst)
	case codecBinary:
		if bu, ok := dst.(encoding.BinaryUnmarshaler); ok {
			return bu.UnmarshalBinary(data)
		}
	}
	return errMalformed
}

// scratchPool holds the buffers binary data is encoded into before its
// size, and so the token's, is known.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxScratch = 4 << 10

// Pseudonym maps a secret value (an app's session cookie) to a stable,
// non-reversible identifier, so the raw token never leaves the guard.
func (ks *Keyset) Pseudonym(label, value string) string {
	m := hmac.New(sha256.New, ks.pseudonyms)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
