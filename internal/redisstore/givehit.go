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

// giveBackScript removes one hit (its member) from a rate window. KEYS a.
// ARGV member. Returns 1.
var giveBackScript = newScript(`#!lua
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`)

// TakeHit is Take (the same script) that also names the hit it recorded,
// for GiveBack (clients/smileid's HitStore: a paid-job submission that
// provably created no job is given back). It counts into the same keys,
// in the same format, as Take, so List, Clear and an instance on an older
// version see the same window. At maxmemory a key over its limit is still refused;
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
		cmd := runOnce(ctx, cl, takeScript, []string{ks.meta, ks.a}, limit, us(window), k.Rule, kk.seal(tag, k.Subject))
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
