package savedpool

import (
	"errors"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/stepup"
)

// SpentKind is the spent one-use step-up tokens (states, continuations,
// resubmit passes) of the in-process store, kept across reloads and
// restarts: a token spent before a restart must not open again after it,
// within the lifetime it has left. With store redis, Redis keeps them.
var SpentKind = Kind{
	Key:     "login_guard.spent_tokens",
	What:    "spent step-up tokens",
	Dir:     "login_guard/spent_tokens",
	Every:   time.Minute,
	Timeout: 10 * time.Second,
}

// SpentTokens is a config's hold on the process's spent-token set, which
// it serves as the step-up's stepup.SpentSet.
type SpentTokens struct {
	*Hold[*stepup.UsedSet]
}

// AcquireSpentTokens takes the process's set (see Acquire).
func AcquireSpentTokens(st certmagic.Storage, logger *zap.Logger) SpentTokens {
	return SpentTokens{Acquire(SpentKind, func() *stepup.UsedSet { return stepup.NewUsedSet(0) },
		stepup.DefaultUsedSetSize, st, logger)}
}

// ErrSpentLoading: the saved spent tokens are still being read (a start
// whose storage is slow), so no token can be known not to have been
// spent.
var ErrSpentLoading = errors.New("the saved spent step-up tokens are still being read")

// Mark implements stepup.SpentSet, failing (closed) until the saved set
// has been read.
func (s SpentTokens) Mark(id string, expires, now time.Time) (bool, error) {
	if !s.Loaded() {
		return false, ErrSpentLoading
	}
	return s.Set().Mark(id, expires, now)
}

// Seen implements stepup.SpentSet: every token reads as spent until the
// saved set has been read.
func (s SpentTokens) Seen(id string, now time.Time) (bool, error) {
	if !s.Loaded() {
		return true, nil
	}
	return s.Set().Seen(id, now)
}
