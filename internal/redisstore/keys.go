package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
)

// keyer builds key names and hides what they are about. Its secrets come
// from the guard's key material (Bind), never from Redis.
type keyer struct {
	prefix string
	mac    hash.Cloner // keyed HMAC for key names and set members, cloned for each (never written)
	aead   cipher.AEAD
}

func newKeyer(prefix string, secret []byte) (*keyer, error) {
	if len(secret) < 16 {
		return nil, errors.New("redis store: key secret too short")
	}
	block, err := aes.NewCipher(derive(secret, "seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac, ok := hmac.New(sha256.New, derive(secret, "names")).(hash.Cloner)
	if !ok {
		return nil, errors.New("redis store: this Go's HMAC cannot be cloned")
	}
	return &keyer{prefix: prefix, mac: mac, aead: aead}, nil
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("login_guard/redis/" + label))
	return m.Sum(nil)
}

// hash is a keyed hash of the parts, each followed by a zero byte,
// base64url, of n bytes (n*4/3 chars). It clones the keyed HMAC rather
// than keying a new one, and writes the parts in one piece: a counter's
// names are hashed on every request that counts.
func (k *keyer) hash(n int, parts ...string) string {
	size := 0
	for _, p := range parts {
		size += len(p) + 1
	}
	b := make([]byte, 0, size)
	for _, p := range parts {
		b = append(append(b, p...), 0)
	}
	c, err := k.mac.Clone()
	if err != nil {
		panic("redis store: the keyed hash cannot be cloned: " + err.Error()) // Go's HMAC over SHA-256 always can
	}
	m := c.(hash.Hash)
	m.Write(b)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0])[:n])
}

// counterTag is the hash tag of one counter: 16 bytes of keyed hash of
// (rule, subject), so its keys share one Cluster slot and name no user.
func (k *keyer) counterTag(rule, subject string) string {
	return k.hash(16, "counter", rule, subject)
}

// counterKeys are the names of a counter's keys: meta (hash), a (rate
// hits, distinct values, or lockout failures: a sorted set by time) and
// b (lockout reservations).
type counterKeys struct{ meta, a, b string }

func (k *keyer) counterKeys(tag string) counterKeys {
	base := k.prefix + "c{" + tag + "}"
	return counterKeys{meta: base + ":m", a: base + ":a", b: base + ":b"}
}

// member is a distinct value as stored: 12 bytes of keyed hash.
func (k *keyer) member(rule, value string) string {
	return k.hash(12, "value", rule, value)
}

// onceKey names a one-time value in namespace ns.
func (k *keyer) onceKey(ns string, id []byte) string {
	return k.prefix + "o{" + k.hash(16, "once", ns, string(id)) + "}"
}

// seal encrypts a subject for the admin view; the key's name is the
// additional data, so a sealed subject cannot be moved to another key.
func (k *keyer) seal(tag, subject string) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(subject)+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, []byte(subject), []byte(tag)))
}

func (k *keyer) open(tag, sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.aead.NonceSize() {
		return "", errors.New("redis store: malformed sealed subject")
	}
	n := k.aead.NonceSize()
	p, err := k.aead.Open(nil, b[:n], b[n:], []byte(tag))
	if err != nil {
		return "", errors.New("redis store: sealed subject does not open (different key material?)")
	}
	return string(p), nil
}
