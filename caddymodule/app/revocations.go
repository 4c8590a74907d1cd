package app

import (
	"context"
	"errors"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/internal/revoke"
)

// Bounds of session.max_revocations.
const (
	minRevocations = 1_000
	maxRevocations = 10_000_000
)

// revocationsKind is the sessions ended by a logout, kept across reloads
// (a reload must not make a logged-out cookie count again) and restarts
// (a stolen cookie logged out before a deploy must not be a session again
// after it). There is one set a process, whatever max_revocations says
// (the config that started last sets its bound), so a reload that changes
// the bound keeps what the set holds.
var revocationsKind = savedpool.Kind{
	Key:     "login_guard.revocations",
	What:    "sessions ended by a logout",
	Dir:     "login_guard/revocations",
	Every:   time.Minute,
	Timeout: 10 * time.Second,
}

// revocationsHold is a config's hold on the process's set, which it
// serves as the guard's revoke.Set.
type revocationsHold struct {
	*savedpool.Hold[*revoke.Memory]
}

// acquireRevocations takes the process's set (see savedpool.Acquire).
func acquireRevocations(max int, st certmagic.Storage, logger *zap.Logger) revocationsHold {
	return revocationsHold{savedpool.Acquire(revocationsKind, func() *revoke.Memory { return revoke.NewMemory(max) }, max, st, logger)}
}

// errRevocationsLoading: the saved revocations are still being read (a
// start whose storage is slow), so no session can be known not to have
// ended: the guard treats the request as carrying none, as it does when
// a shared store does not answer.
var errRevocationsLoading = errors.New("the saved sessions ended by a logout are still being read")

// Revoke implements revoke.Set.
func (h revocationsHold) Revoke(ctx context.Context, id string, until, now time.Time) error {
	return h.Set().Revoke(ctx, id, until, now)
}

// Revoked implements revoke.Set, failing until the saved revocations
// have been read.
func (h revocationsHold) Revoked(ctx context.Context, id string, now time.Time) (bool, error) {
	if !h.Loaded() {
		return false, errRevocationsLoading
	}
	return h.Set().Revoked(ctx, id, now)
}

// releaseRevocations gives back the pooled set this config took in Start,
// once.
func (a *App) releaseRevocations() {
	if a.rt != nil && a.rt.revocations.Hold != nil {
		a.rt.revocations.Release()
		a.rt.revocations = revocationsHold{}
	}
}
