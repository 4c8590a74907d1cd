package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
		// An older Redis would refuse every script (their #!lua header)
		// as an error, not an outage: every login would meet
		// on_store_failure. A server whose ACL hides INFO is not refused
		// for it: its version cannot be known.
		if info, err := cl.Info(ctx, "server").Result(); err == nil {
			if err := versionSupported(info); err != nil {
				return fmt.Errorf("redis store: %s: %w", addr, err)
			}
		} else if !errors.As(err, new(redis.Error)) {
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
	// Read first: a Redis at maxmemory refuses SETNX even for a key that
	// exists, and the usual start finds the fingerprint recorded.
	got, err := cl.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		if err := cl.SetNX(ctx, key, fingerprint, fingerprintTTL).Err(); err != nil {
			return fmt.Errorf("redis store: recording the key fingerprint: %w", err)
		}
		got, err = cl.Get(ctx, key).Result()
	}
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

// versionSupported reads redis_version from INFO server's answer and
// requires 7.0 or later (Valkey reports the Redis version it matches).
func versionSupported(info string) error {
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err == nil && n < 7 {
			return fmt.Errorf("the server runs Redis %s; the guard needs 7.0 or later (its scripts declare themselves with a #!lua header)", v)
		}
		return nil
	}
	return nil
}
