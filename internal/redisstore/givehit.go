package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/rules/counter"
)

// takeHitScript is takeScript that also names the hit it recorded: its
// member in the window's sorted set (time and sequence). KEYS meta, a.
// ARGV limit, window, rule, sealed. Returns {allowed, count,
// retry_after_us, time, sequence}.
var takeHitScript = newScript(luaPrelude + `
local meta, a = KEYS[1], KEYS[2]
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = clock(meta)
redis.call('ZREMRANGEBYSCORE', a, '-inf', f(now - window))
local n = redis.call('ZCARD', a)
if n >= limit then
  local o = redis.call('ZRANGE', a, 0, 0, 'WITHSCORES')
  return {0, n, tonumber(o[2]) + window - now, 0, 0}
end
local q = redis.call('HINCRBY', meta, 'q', 1)
redis.call('ZADD', a, f(now), f(now) .. ':' .. q)
redis.call('HSET', meta, 't', f(now), 'k', 'rate', 'r', ARGV[3], 'u', ARGV[4], 'l', limit, 'w', f(window))
keep(window, meta, a)
return {1, n + 1, 0, now, q}
`)

// giveBackScript removes one hit (its member) from a rate window. KEYS a.
// ARGV member. Returns 1.
var giveBackScript = newScript(`#!lua
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`)

// TakeHit is Take that also names the hit it recorded, for GiveBack
// (clients/smileid's HitStore: a paid-job submission that provably
// created no job is given back). It counts into the same keys, in the
// same format, as Take, so List, Clear and an instance still on Take see
// the same window. At maxmemory a key over its limit is still refused;
// anything else is Full.
func (s *Counter) TakeHit(ctx context.Context, k counter.Key, limit int, window time.Duration) (counter.Result, string, error) {
	if limit < 1 || window <= 0 {
		return counter.Result{}, "", errors.New("counter: limit and window must be positive")
	}
	var res counter.Result
	var hit string
	err := s.c.call(ctx, func(ctx context.Context, cl redis.UniversalClient, kk *keyer) error {
		tag := kk.counterTag(k.Rule, k.Subject)
		ks := kk.counterKeys(tag)
		cmd := runOnce(ctx, cl, takeHitScript, []string{ks.meta, ks.a}, limit, us(window), k.Rule, kk.seal(tag, k.Subject))
		if isOOM(cmd.Err()) {
			res = counter.Result{Full: true}
			op := counter.Op{Kind: counter.OpTake, Key: k, Limit: limit, Window: window, Result: res}
			if jc, ok := judgeCall(kk, &op); ok {
				readJudge(&op, runOnce(ctx, cl, jc.script, jc.keys, jc.args...))
			}
			res = op.Result
			return nil
		}
		v, err := cmd.Int64Slice()
		if err != nil {
			return err
		}
		if len(v) < 5 {
			return fmt.Errorf("redis store: unexpected script reply %v", v)
		}
		res = counter.Result{Allowed: v[0] == 1, Count: int(v[1])}
		if res.Allowed {
			hit = fmt.Sprintf("%d:%d", v[3], v[4])
		} else {
			res.RetryAfter = time.Duration(v[2]) * time.Microsecond
		}
		return nil
	})
	if err != nil {
		return counter.Result{}, "", err
	}
	return res, hit, nil
}

// GiveBack removes hit, which TakeHit recorded under k, from its window.
func (s *Counter) GiveBack(ctx context.Context, k counter.Key, hit string) error {
	if hit == "" {
		return nil
	}
	return s.c.call(ctx, func(ctx context.Context, cl redis.UniversalClient, kk *keyer) error {
		ks := kk.counterKeys(kk.counterTag(k.Rule, k.Subject))
		return runOnce(ctx, cl, giveBackScript, []string{ks.a}, hit).Err()
	})
}

var _ smileid.HitStore = (*Counter)(nil)
