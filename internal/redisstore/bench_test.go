//go:build redis

package redisstore

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/rules/counter"
)

// loginOps are a typical login route's counting operations: a rate per
// address, a rate per (address, user), a lockout per user.
func loginOps(i int64) []counter.Op {
	ip := "ip=203.0." + strconv.FormatInt(i%250, 10) + "." + strconv.FormatInt(i/250%250, 10) + "/32"
	user := "user=u" + strconv.FormatInt(i, 10)
	l := counter.Lockout{Limit: 5, Window: 15 * time.Minute, LockFor: 30 * time.Minute, Hold: time.Minute}
	return []counter.Op{
		{Kind: counter.OpTake, Key: counter.Key{Rule: "login/rate ip 100/1m", Subject: ip}, Limit: 100, Window: time.Minute},
		{Kind: counter.OpTake, Key: counter.Key{Rule: "login/rate ip_user 10/1m", Subject: ip + " " + user}, Limit: 10, Window: time.Minute},
		{Kind: counter.OpReserve, Key: counter.Key{Rule: "login/lockout user 5/15m", Subject: user}, Lockout: l},
	}
}

// settleOps are the after-upstream round: the lockout settled as failed.
func settleOps(ops []counter.Op) []counter.Op {
	return []counter.Op{{Kind: counter.OpSettle, Key: ops[2].Key, Lockout: ops[2].Lockout, Token: ops[2].Result.Token, Settlement: counter.Failure}}
}

func benchLogin(b *testing.B, s counter.Store) {
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			ops := loginOps(n.Add(1))
			counter.Do(ctx, s, ops)
			for _, op := range ops {
				if op.Err != nil {
					b.Fatal(op.Err)
				}
			}
			counter.Do(ctx, s, settleOps(ops))
		}
	})
}

// BenchmarkLoginCounters compares one login's counting (three rules before
// the upstream, one settlement after) on the memory store and on Redis.
func BenchmarkLoginCounters(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		m, err := counter.NewMemory(counter.MemoryConfig{MaxKeys: 1_000_000})
		if err != nil {
			b.Fatal(err)
		}
		benchLogin(b, m)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redisproc.Start(b)
		c, err := New(Config{Addresses: []string{srv.Addr()}, Timeout: time.Second}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Open(); err != nil {
			b.Fatal(err)
		}
		if err := c.Bind(context.Background(), "fp", testSecret); err != nil {
			b.Fatal(err)
		}
		rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		defer rc.Close()
		before := usedMemory(b, rc)
		// Redis calls wait on the network, not the CPU: many requests in
		// flight per core, as on a busy instance.
		b.SetParallelism(32)
		benchLogin(b, NewCounter(c))
		b.ReportMetric(float64(c.Stats().Calls)/float64(b.N), "roundtrips/login")
		b.ReportMetric(float64(usedMemory(b, rc)-before)/float64(b.N), "redis-bytes/login")
		keys, _ := rc.DBSize(context.Background()).Result()
		b.ReportMetric(float64(keys)/float64(b.N), "keys/login")
	})
}

func usedMemory(b *testing.B, rc *redis.Client) int64 {
	info, err := rc.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}
