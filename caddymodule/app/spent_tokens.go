package app

import (
	"errors"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/internal/stepup"
)

// spentKind is the spent one-use step-up tokens (states, continuations,
// resubmit passes) of the in-process store, kept across reloads and
// restarts: a token spent before a restart must not open again after it,
// within the lifetime it has left. With store redis, Redis keeps them.
var spentKind = savedpool.Kind{
	Key:     "login_guard.spent_tokens",
	What:    "spent step-up tokens",
	Dir:     "login_guard/spent_tokens",
	Every:   time.Minute,
	Timeout: 10 * time.Second,
}

// spentTokens is a config's hold on the process's spent-token set, which
// it serves as the step-up's stepup.SpentSet.
type spentTokens struct {
	*savedpool.Hold[*stepup.UsedSet]
}

func acquireSpentTokens(st certmagic.Storage, a *App) spentTokens {
	return spentTokens{savedpool.Acquire(spentKind, func() *stepup.UsedSet { return stepup.NewUsedSet(0) },
		stepup.DefaultUsedSetSize, st, a.logger.Named("stepup"))}
}

// errSpentLoading: the saved spent tokens are still being read (a start
// whose storage is slow), so no token can be known not to have been
// spent.
var errSpentLoading = errors.New("the saved spent step-up tokens are still being read")

// Mark implements stepup.SpentSet, failing (closed) until the saved set
// has been read.
func (s spentTokens) Mark(id string, expires, now time.Time) (bool, error) {
	if !s.Loaded() {
		return false, errSpentLoading
	}
	return s.Set().Mark(id, expires, now)
}

// Seen implements stepup.SpentSet: every token reads as spent until the
// saved set has been read.
func (s spentTokens) Seen(id string, now time.Time) bool {
	return !s.Loaded() || s.Set().Seen(id, now)
}

// storage is the config's storage; nil for an app Caddy never provisioned
// (Standalone), which saves nothing.
func (a *App) storage() certmagic.Storage {
	if a.ctx.Context == nil {
		return nil
	}
	return a.ctx.Storage()
}
