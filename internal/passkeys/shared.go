package passkeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// CeremonyBackend stores ceremonies in flight where every guard instance
// reaches them, so a Begin on one instance can Finish on another. Take
// must be atomic and once (a ceremony gets one Finish cluster-wide); it
// returns nil bytes and no error for a handle it does not hold.
type CeremonyBackend interface {
	Store(handle string, sealed []byte, ttl time.Duration) error
	Take(handle string) ([]byte, error)
}

// CeremonyShares is an optional CeremonyBackend extension that counts each
// client's ceremonies across every instance, so MaxCeremoniesPerClient
// holds for the shared store too (counted over the ceremonies begun in the
// last CeremonyTTL).
type CeremonyShares interface {
	// Admit records one ceremony (handle) for client, counted for ttl,
	// unless client already began max in the last ttl: then false.
	Admit(client, handle string, max int, ttl time.Duration) (bool, error)
}

// ceremonyStore is where ceremonies wait between Begin and Finish.
type ceremonyStore interface {
	// put stores a ceremony; client is the caller's address prefix, for
	// the per-client share (the in-memory store enforces it).
	put(kind ceremonyKind, user, client string, s webauthn.SessionData) (string, error)
	take(id string) (*ceremony, bool)
	stats() Stats
}

// sharedCeremonies keeps ceremonies in a CeremonyBackend, sealed under a
// key derived from the ceremony id, which only the browser holds: the
// backend learns neither the user nor the challenge, and its key names
// are hashes, not ids.
type sharedCeremonies struct {
	b         CeremonyBackend
	ttl       time.Duration
	perClient int

	puts, missed atomic.Uint64
}

type sealedCeremony struct {
	Kind    ceremonyKind         `json:"k"`
	User    string               `json:"u"`
	Session webauthn.SessionData `json:"s"`
}

func ceremonyDerive(id, label string) []byte {
	h := sha256.Sum256([]byte("login_guard/passkeys/" + label + "\x00" + id))
	return h[:]
}

func ceremonyHandle(id string) string {
	return base64.RawURLEncoding.EncodeToString(ceremonyDerive(id, "handle")[:18])
}

func ceremonyAEAD(id string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(ceremonyDerive(id, "key"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// put applies the client's share when the backend counts shares
// (CeremonyShares); otherwise the backend's memory and the TTL bound what
// one client can start.
func (c *sharedCeremonies) put(kind ceremonyKind, user, client string, s webauthn.SessionData) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	plain, err := json.Marshal(sealedCeremony{Kind: kind, User: user, Session: s})
	if err != nil {
		return "", err
	}
	aead, err := ceremonyAEAD(id)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, plain, nil)
	clear(plain)
	handle := ceremonyHandle(id)
	if sh, ok := c.b.(CeremonyShares); ok && client != "" {
		ok, err := sh.Admit(client, handle, c.perClient, c.ttl)
		if err != nil {
			return "", errors.Join(errors.New("passkeys: counting the client's ceremonies"), err)
		}
		if !ok {
			return "", refused(ReasonBusy, nil)
		}
	}
	if err := c.b.Store(handle, sealed, c.ttl); err != nil {
		return "", errors.Join(errors.New("passkeys: keeping the ceremony"), err)
	}
	c.puts.Add(1)
	return id, nil
}

func (c *sharedCeremonies) take(id string) (*ceremony, bool) {
	sealed, err := c.b.Take(ceremonyHandle(id))
	if err != nil || sealed == nil {
		// Unknown, expired, taken, or the backend failed: the Finish is
		// refused either way.
		c.missed.Add(1)
		return nil, false
	}
	aead, err := ceremonyAEAD(id)
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, false
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, false
	}
	defer clear(plain)
	var sc sealedCeremony
	if err := json.Unmarshal(plain, &sc); err != nil {
		return nil, false
	}
	return &ceremony{id: id, kind: sc.Kind, user: sc.User, session: sc.Session, expires: time.Now().Add(c.ttl)}, true
}

// stats: the backend holds every instance's ceremonies; this instance
// reports none in flight of its own.
func (c *sharedCeremonies) stats() Stats { return Stats{} }
