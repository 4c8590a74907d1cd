package stepup

import (
	"errors"
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
)

// ErrUsedSetFull is returned when the used-token set holds its maximum of
// unexpired entries. Forgetting one early would let that token be replayed,
// so the set refuses instead (fail closed).
var ErrUsedSetFull = errors.New("stepup: used-token set full")

// UsedSet remembers which one-use tokens were spent until they expire. It
// is bounded and exact but for hash collisions: an id is kept as a 64-bit
// hash (expiry.Set: about 55 bytes an entry, no string, nothing for the
// collector to trace), so two ids that hash alike would make a fresh
// token read as spent (odds of about n/2^64 per token with n entries; ids
// are random handles sealed in tokens, so nobody picks them). The hash is
// the same in every process, so the set can be saved (AppendSnapshot,
// Merge) and read back after a restart. Share one instance across config
// reloads (a caddy.UsagePool) so a reload does not reopen spent tokens.
type UsedSet struct{ *expiry.Set }

// DefaultUsedSetSize bounds the set when the caller does not: a botnet
// would have to spend over a thousand step-up states a second for the
// fifteen minutes an entry lasts to fill it (each a challenged login and
// its refused factors), and a full set costs about 55 MB.
const DefaultUsedSetSize = 1_000_000

// usedSetMagic names a saved set of spent tokens and its hash (XXH64 of
// the purpose and handle); see expiry.AppendSnapshot for the format.
const usedSetMagic = "LGSPENT1"

// NewUsedSet makes a set holding at most max unexpired ids (default
// DefaultUsedSetSize when max <= 0).
func NewUsedSet(max int) *UsedSet {
	if max <= 0 {
		max = DefaultUsedSetSize
	}
	return &UsedSet{expiry.NewSet(max, expiry.Refuse, usedSetMagic)}
}

// Mark records id as spent until expires. It returns false when id was
// already spent (a replay), and ErrUsedSetFull when there is no room.
func (s *UsedSet) Mark(id string, expires, now time.Time) (bool, error) {
	fresh, err := s.Add(expiry.Key(id), expires.UnixNano(), now.UnixNano())
	if errors.Is(err, expiry.ErrFull) {
		return false, ErrUsedSetFull
	}
	return fresh, err
}

// Seen reports whether id is spent and not yet expired. The set is in
// the process: it always can tell (the error is nil).
func (s *UsedSet) Seen(id string, now time.Time) (bool, error) {
	return s.Has(expiry.Key(id), now.UnixNano()), nil
}
