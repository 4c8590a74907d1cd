package stepup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// heldKeyLen is the AES-256 key size of a held entry.
const heldKeyLen = 32

// sealEntry encrypts plain under a fresh random key. The handle and kind
// are authenticated as additional data, so a ciphertext moved under another
// handle, or a request taken as a response, does not open.
func sealEntry(handle string, kind entryKind, plain []byte) (key, sealed []byte, err error) {
	key = make([]byte, heldKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return key, aead.Seal(nonce, nonce, plain, entryAAD(handle, kind)), nil
}

func openEntry(key []byte, handle string, kind entryKind, sealed []byte) ([]byte, bool) {
	if len(key) != heldKeyLen {
		return nil, false
	}
	aead, err := newAEAD(key)
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, false
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], entryAAD(handle, kind))
	return plain, err == nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func entryAAD(handle string, kind entryKind) []byte {
	return append([]byte("login_guard/held/v1\x00"+string(kind)+"\x00"), handle...)
}

// sealValue encodes v and seals it under a new handle's key: what either
// held store keeps. The plaintext is cleared once sealed.
func sealValue(kind entryKind, v any) (handle string, key, sealed []byte, err error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", nil, nil, fmt.Errorf("stepup: encoding held entry: %w", err)
	}
	handle, err = NewHandle()
	if err != nil {
		return "", nil, nil, err
	}
	key, sealed, err = sealEntry(handle, kind, plain)
	clear(plain)
	return handle, key, sealed, err
}
