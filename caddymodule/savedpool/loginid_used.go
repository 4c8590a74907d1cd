package savedpool

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/expiry"
)

// LoginIDUsedKind is the LoginID tokens already used (a hash of each
// token's nonce), kept across reloads (one set a process, whatever
// replay_cache_size says: the config that started last sets its bound)
// and restarts: a token used before a restart must not verify again after
// it, within its max_age. With store redis, Redis keeps them.
var LoginIDUsedKind = Kind{
	Key:     "login_guard.loginid_used",
	What:    "LoginID tokens already used",
	Dir:     "login_guard/loginid_used",
	Every:   time.Minute,
	Timeout: 10 * time.Second,
}

// loginidUsedMagic names a saved set of used LoginID tokens and its key:
// the first 8 bytes of the SHA-256 of the nonce (loginid.ReplayKey).
const loginidUsedMagic = "LGLIDUS1"

// UsedAssertions is the verifier's replay cache without store redis. The
// verifier is built in Provision, the set it uses is taken in Start (a
// `caddy validate` reads no storage), so until then it refuses every
// token, as it does until the saved set has been read.
type UsedAssertions struct {
	size int // the bound this config gives the set (replay_cache_size)
	hold atomic.Pointer[Hold[*expiry.Set]]
}

// ErrUsedLoading: the verifier's set is not taken yet, or its saved
// tokens not yet read, so no token can be known not to have been used.
var ErrUsedLoading = errors.New("the LoginID tokens already used are not read yet")

// NewUsedAssertions makes the replay cache of a config whose
// replay_cache_size is size.
func NewUsedAssertions(size int) *UsedAssertions { return &UsedAssertions{size: size} }

// Remember implements loginid.ReplayCache.
func (u *UsedAssertions) Remember(key loginid.ReplayKey, until, now time.Time) error {
	h := u.hold.Load()
	if h == nil || !h.Loaded() {
		return ErrUsedLoading
	}
	fresh, err := h.Set().Add(binary.LittleEndian.Uint64(key[:8]), until.UnixNano(), now.UnixNano())
	switch {
	case errors.Is(err, expiry.ErrFull):
		return loginid.ErrReplayCacheFull
	case err != nil:
		return err
	case !fresh:
		return loginid.ErrReplayed
	}
	return nil
}

// Take takes the process's set for this config (Start).
func (u *UsedAssertions) Take(st certmagic.Storage, logger *zap.Logger) *Hold[*expiry.Set] {
	size := u.size
	h := Acquire(LoginIDUsedKind, func() *expiry.Set { return expiry.NewSet(size, expiry.Refuse, loginidUsedMagic) }, size, st, logger)
	u.hold.Store(h)
	return h
}
