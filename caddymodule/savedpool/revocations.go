package savedpool

import (
	"context"
	"errors"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/revoke"
)

// RevocationsKind is the sessions ended by a logout, kept across reloads
// (a reload must not make a logged-out cookie count again) and restarts
// (a stolen cookie logged out before a deploy must not be a session again
// after it). There is one set a process, whatever max_revocations says
// (the config that started last sets its bound), so a reload that changes
// the bound keeps what the set holds.
var RevocationsKind = Kind{
	Key:     "login_guard.revocations",
	What:    "sessions ended by a logout",
	Dir:     "login_guard/revocations",
	Every:   time.Minute,
	Timeout: 10 * time.Second,
}

// Revocations is a config's hold on the process's set, which it serves
// as the guard's revoke.Set.
type Revocations struct {
	*Hold[*revoke.Memory]
}

// AcquireRevocations takes the process's set (see Acquire).
func AcquireRevocations(max int, st certmagic.Storage, logger *zap.Logger) Revocations {
	return Revocations{Acquire(RevocationsKind, func() *revoke.Memory { return revoke.NewMemory(max) }, max, st, logger)}
}

// ErrRevocationsLoading: the saved revocations are still being read (a
// start whose storage is slow), so no session can be known not to have
// ended: the guard treats the request as carrying none, as it does when
// a shared store does not answer.
var ErrRevocationsLoading = errors.New("the saved sessions ended by a logout are still being read")

// Revoke implements revoke.Set.
func (r Revocations) Revoke(ctx context.Context, id string, until, now time.Time) error {
	return r.Set().Revoke(ctx, id, until, now)
}

// Revoked implements revoke.Set, failing until the saved revocations
// have been read.
func (r Revocations) Revoked(ctx context.Context, id string, now time.Time) (bool, error) {
	if !r.Loaded() {
		return false, ErrRevocationsLoading
	}
	return r.Set().Revoked(ctx, id, now)
}
