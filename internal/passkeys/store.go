package passkeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/go-webauthn/webauthn/webauthn"
)

// Store is where credentials live. It has the shape of certmagic.Storage
// so Caddy's configured storage can be passed in directly. Load must
// return an error satisfying errors.Is(err, fs.ErrNotExist) for a missing
// key, as certmagic's storages do. Lock blocks until the named lock is held
// or ctx ends.
type Store interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Store(ctx context.Context, key string, value []byte) error
	Lock(ctx context.Context, name string) error
	Unlock(ctx context.Context, name string) error
}

// recordVersion lets a later layout be told apart.
const recordVersion = 1

// handleLen is the size of the opaque WebAuthn user handle (the spec's
// maximum is 64 bytes; 32 random bytes are plenty and keep options small).
const handleLen = 32

// maxRecordBytes bounds what a (corrupt or hostile) stored record may make
// the guard decode.
const maxRecordBytes = 1 << 20

// record is one user's stored passkey state.
type record struct {
	Version     int                   `json:"version"`
	Handle      []byte                `json:"handle"`
	Credentials []webauthn.Credential `json:"credentials"`
	// EnrolSpent maps spent enrolment-token ids to their expiry (Unix
	// seconds); entries are pruned once the token could no longer open.
	EnrolSpent map[string]int64 `json:"enrol_spent,omitempty"`
	// LoginID records that the user's LoginID credential was registered
	// under the enrolment rules, or imported (loginid.go); nil: none.
	LoginID *LoginIDRecord `json:"loginid,omitempty"`
	// EnrolLinkRequired is set when an admin removal (RemoveCredential,
	// RemoveLoginID) left the account with no passkey: its next enrolment,
	// of a passkey or a LoginID record, needs an enrolment link, which
	// clears it; a sign-in alone is refused (ReasonEnrolNeedsLink).
	// Omitted when false, so records written before it load as unmarked.
	EnrolLinkRequired bool `json:"enrol_link_required,omitempty"`
}

func defaultUserKey(user string) string {
	sum := sha256.Sum256([]byte("login_guard/passkeys\x00" + user))
	return hex.EncodeToString(sum[:])
}

func (p *Passkeys) recordKey(user string) string {
	return p.cfg.KeyPrefix + "/users/" + p.cfg.UserKey(user) + ".json"
}

func (p *Passkeys) lockName(user string) string {
	return p.cfg.KeyPrefix + "/users/" + p.cfg.UserKey(user)
}

// ErrStorageUnavailable is wrapped by a store call that did not finish
// within Config.StorageTimeout: the passkeys cannot be read or written
// now.
var ErrStorageUnavailable = errors.New("passkeys: storage did not answer in time")

// bounded runs one store call (a lock's wait included) within the
// storage timeout, and within the request's own life: Caddy's storage may
// be a remote one (Redis, Consul, S3, NFS), and a request must not wait
// on it without end.
func (p *Passkeys) bounded(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StorageTimeout)
	defer cancel()
	err := call(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrStorageUnavailable, err)
	}
	return err
}

// load reads a user's record; found is false when there is none. A
// record kept under the legacy key (Config.LegacyUserKey) is found when
// there is none under the current one; save writes it under the current.
func (p *Passkeys) load(ctx context.Context, user string) (rec record, found bool, err error) {
	rec, found, err = p.loadKey(ctx, p.recordKey(user))
	if found || err != nil || p.cfg.LegacyUserKey == nil {
		return rec, found, err
	}
	if legacy := p.cfg.KeyPrefix + "/users/" + p.cfg.LegacyUserKey(user) + ".json"; legacy != p.recordKey(user) {
		return p.loadKey(ctx, legacy)
	}
	return rec, found, err
}

func (p *Passkeys) loadKey(ctx context.Context, key string) (rec record, found bool, err error) {
	var b []byte
	err = p.bounded(ctx, func(ctx context.Context) (err error) {
		b, err = p.store.Load(ctx, key)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("passkeys: loading credentials: %w", err)
	}
	if len(b) > maxRecordBytes {
		return record{}, false, errors.New("passkeys: stored record too large")
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return record{}, false, fmt.Errorf("passkeys: decoding stored record: %v", err)
	}
	if rec.Version != recordVersion || len(rec.Handle) != handleLen {
		return record{}, false, errors.New("passkeys: stored record has an unknown layout")
	}
	return rec, true, nil
}

func (p *Passkeys) save(ctx context.Context, user string, rec record) error {
	now := p.cfg.Now().Unix()
	for id, exp := range rec.EnrolSpent {
		if exp <= now {
			delete(rec.EnrolSpent, id)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := p.bounded(ctx, func(ctx context.Context) error { return p.store.Store(ctx, p.recordKey(user), b) }); err != nil {
		return fmt.Errorf("passkeys: storing credentials: %w", err)
	}
	return nil
}

// locked runs f while holding the user's storage lock, so concurrent
// registrations and sign-count updates do not lose each other's writes.
func (p *Passkeys) locked(ctx context.Context, user string, f func() error) error {
	name := p.lockName(user)
	if err := p.bounded(ctx, func(ctx context.Context) error { return p.store.Lock(ctx, name) }); err != nil {
		return fmt.Errorf("passkeys: locking credentials: %w", err)
	}
	// The unlock runs even when the request is gone, bounded all the same.
	defer func() {
		_ = p.bounded(context.WithoutCancel(ctx), func(ctx context.Context) error { return p.store.Unlock(ctx, name) })
	}()
	return f()
}

// loadOrNew is user's record, or a new one, not yet saved, when the
// account has none.
func (p *Passkeys) loadOrNew(ctx context.Context, user string) (record, error) {
	rec, found, err := p.load(ctx, user)
	if err != nil || found {
		return rec, err
	}
	return newRecord()
}

func newRecord() (record, error) {
	h := make([]byte, handleLen)
	if _, err := rand.Read(h); err != nil {
		return record{}, err
	}
	return record{Version: recordVersion, Handle: h}, nil
}

// waUser adapts a record to go-webauthn's User.
type waUser struct {
	name string
	rec  *record
}

func (u waUser) WebAuthnID() []byte                         { return u.rec.Handle }
func (u waUser) WebAuthnName() string                       { return u.name }
func (u waUser) WebAuthnDisplayName() string                { return u.name }
func (u waUser) WebAuthnCredentials() []webauthn.Credential { return u.rec.Credentials }
