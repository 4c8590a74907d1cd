package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/login-guard/login_guard/internal/revoke"
)

// RevokeSet keeps the guard sessions ended by a logout, shared by every
// instance: a cookie replayed after its logout is no session on any of
// them. Each entry expires with the cookie it stands for.
type RevokeSet struct{ once *OnceSet }

// NewRevokeSet returns the set on c.
func NewRevokeSet(c *Conn) *RevokeSet { return &RevokeSet{once: NewOnceSet(c, "revoked")} }

// Revoke implements revoke.Set.
func (s *RevokeSet) Revoke(ctx context.Context, id string, until, now time.Time) error {
	ttl := until.Sub(now)
	if ttl <= 0 {
		return nil
	}
	if err := s.once.Remember(ctx, []byte(id), ttl); err != nil && !errors.Is(err, ErrSeen) {
		return err
	}
	return nil
}

// Revoked implements revoke.Set.
func (s *RevokeSet) Revoked(ctx context.Context, id string, _ time.Time) (bool, error) {
	return s.once.Has(ctx, []byte(id))
}

var _ revoke.Set = (*RevokeSet)(nil)
