package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkTimeout bounds the start-up checks.
const checkTimeout = 10 * time.Second

// fingerprintTTL keeps the recorded fingerprint (every key has a TTL);
// each start renews it.
const fingerprintTTL = 400 * 24 * time.Hour

// ErrFingerprint: this instance's key material is not the one the other
// instances recorded in Redis.
var ErrFingerprint = errors.New("redis store: this instance's key material differs from the one recorded in Redis by the other instances sharing it; " +
	"instances sharing a Redis must share Caddy storage (the `storage` global option), where the guard keeps its keys")

// Check reaches every master and requires maxmemory-policy noeviction:
// an evicting policy would free counters that are at their limit or
// locked, and one-time values, silently. A Redis whose CONFIG command is
// disabled (some managed services) cannot be checked and is refused with
// that reason.
func (c *Conn) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return c.eachMaster(ctx, func(ctx context.Context, cl *redis.Client) error {
		addr := cl.Options().Addr
		if err := cl.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis store: %s: %w", addr, err)
		}
		v, err := cl.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redis store: %s: reading maxmemory-policy (CONFIG GET must be allowed for the guard's user): %w", addr, err)
		}
		if p := v["maxmemory-policy"]; !strings.EqualFold(p, "noeviction") {
			return fmt.Errorf("redis store: %s: maxmemory-policy is %q; the guard requires noeviction, since an evicting policy would free locked counters and used tokens (set `maxmemory-policy noeviction`)", addr, p)
		}
		return nil
	})
}

// Bind gives the Conn the guard's secret (key names and sealed subjects
// derive from it) after checking fingerprint, a public digest of the
// instance's key material, against the one recorded in Redis by the
// first instance: a mismatch is ErrFingerprint. Calls work from then on.
func (c *Conn) Bind(ctx context.Context, fingerprint string, secret []byte) error {
	k, err := newKeyer(c.cfg.Prefix, secret)
	if err != nil {
		return err
	}
	cl, err := c.opened()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	key := c.cfg.Prefix + "fingerprint"
	if err := cl.SetNX(ctx, key, fingerprint, fingerprintTTL).Err(); err != nil {
		return fmt.Errorf("redis store: recording the key fingerprint: %w", err)
	}
	got, err := cl.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("redis store: reading the key fingerprint: %w", err)
	}
	if got != fingerprint {
		return ErrFingerprint
	}
	_ = cl.Expire(ctx, key, fingerprintTTL).Err()
	c.keys.Store(k)
	return nil
}
