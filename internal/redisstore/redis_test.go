//go:build redis

package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/clients/smileid"
	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/internal/stepup"
	"github.com/login-guard/login_guard/internal/testkit/redisproc"
	"github.com/login-guard/login_guard/rules/counter"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// opened is a Conn on cfg, opened but neither checked nor bound (a start
// still to come), closed when the test ends.
func opened(t *testing.T, cfg Config) *Conn {
	t.Helper()
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// instance is what one Caddy instance holds: its own Conn to the shared
// Redis.
func instance(t *testing.T, cfg Config) *Conn {
	t.Helper()
	c := opened(t, cfg)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(context.Background(), "fp-1", testSecret); err != nil {
		t.Fatal(err)
	}
	return c
}

func single(t *testing.T) (*redisproc.Server, Config) {
	s := redisproc.Start(t)
	return s, Config{Addresses: []string{s.Addr()}, Timeout: 2 * time.Second}
}

func cluster(t *testing.T) (*redisproc.Cluster, Config) {
	c := redisproc.StartCluster(t, 3)
	return c, Config{Mode: ModeCluster, Addresses: c.Addrs(), Timeout: 2 * time.Second}
}

// exactness spreads parallel attempts over two instances and checks that
// exactly limit of them pass, for rate, distinct and lockout counters on
// many subjects at once.
func exactness(t *testing.T, cfg Config) {
	a, b := NewCounter(instance(t, cfg)), NewCounter(instance(t, cfg))
	stores := []*Counter{a, b}
	const limit, workers, subjects = 7, 40, 6
	lock := counter.Lockout{Limit: limit, Window: time.Minute, LockFor: time.Minute, Hold: time.Minute}
	var rate, distinct, reserve [subjects]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			ctx := context.Background()
			for i := range subjects {
				k := counter.Key{Rule: "login/rate ip 7/1m", Subject: fmt.Sprintf("ip=203.0.113.%d/32", i)}
				r, err := s.Take(ctx, k, limit, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					rate[i].Add(1)
				}
				dk := counter.Key{Rule: "login/spray ip 7/1m", Subject: k.Subject}
				r, err = s.TakeDistinct(ctx, dk, fmt.Sprintf("user-%d", w), limit, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					distinct[i].Add(1)
				}
				lk := counter.Key{Rule: "login/lockout user 7/1m for 1m", Subject: fmt.Sprintf("user=u%d", i)}
				r, err = s.Reserve(ctx, lk, lock)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					reserve[i].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := range subjects {
		if n := rate[i].Load(); n != limit {
			t.Errorf("subject %d: %d rate hits allowed, want exactly %d", i, n, limit)
		}
		if n := distinct[i].Load(); n != limit {
			t.Errorf("subject %d: %d distinct values allowed, want exactly %d", i, n, limit)
		}
		if n := reserve[i].Load(); n != limit {
			t.Errorf("subject %d: %d lockout slots reserved, want exactly %d", i, n, limit)
		}
	}
	// A refused hit names when to come back.
	r, err := a.Take(context.Background(), counter.Key{Rule: "login/rate ip 7/1m", Subject: "ip=203.0.113.0/32"}, limit, time.Minute)
	if err != nil || r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > time.Minute || r.Count != limit {
		t.Errorf("over the limit: %+v %v", r, err)
	}
}

func TestExactAcrossInstancesSingle(t *testing.T) {
	_, cfg := single(t)
	exactness(t, cfg)
}

func TestExactAcrossInstancesCluster(t *testing.T) {
	_, cfg := cluster(t)
	exactness(t, cfg)
}

func TestLockoutSettleAcrossInstances(t *testing.T) {
	_, cfg := single(t)
	a, b := NewCounter(instance(t, cfg)), NewCounter(instance(t, cfg))
	ctx := context.Background()
	l := counter.Lockout{Limit: 3, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	k := counter.Key{Rule: "login/lockout user 3/1m for 1h", Subject: "user=jlopez"}
	for i := range 3 {
		s := []*Counter{a, b}[i%2]
		r, err := s.Reserve(ctx, k, l)
		if err != nil || !r.Allowed || r.Token == 0 {
			t.Fatalf("attempt %d: %+v %v", i, r, err)
		}
		ok, err := s.Settle(ctx, k, l, r.Token, counter.Failure)
		if err != nil || !ok {
			t.Fatalf("settle %d: %v %v", i, ok, err)
		}
	}
	r, err := a.Reserve(ctx, k, l)
	if err != nil || r.Allowed || !r.Locked || r.RetryAfter < 59*time.Minute {
		t.Fatalf("after 3 failures: %+v %v", r, err)
	}
	// The admin of the other instance sees the lock, with its subject, and
	// clears it for everyone.
	es, err := b.List(ctx, counter.Filter{LimitedOnly: true}, 0)
	if err != nil || len(es) != 1 || es[0].Key != k || es[0].LockedUntil.IsZero() || es[0].Kind != "lockout" {
		t.Fatalf("list: %+v %v", es, err)
	}
	n, err := b.Clear(ctx, counter.Filter{Subject: "user=jlopez"})
	if err != nil || n != 1 {
		t.Fatalf("clear: %d %v", n, err)
	}
	r, err = a.Reserve(ctx, k, l)
	if err != nil || !r.Allowed {
		t.Fatalf("after clear: %+v %v", r, err)
	}
	// Success forgets failures; release gives the slot back.
	if ok, err := a.Settle(ctx, k, l, r.Token, counter.Success); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if es, _ := a.List(ctx, counter.Filter{}, 0); len(es) != 0 {
		t.Fatalf("after success: %+v", es)
	}
}

func TestBatchOneRoundTrip(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	before := c.Stats().Calls
	l := counter.Lockout{Limit: 2, Window: time.Minute, LockFor: time.Minute, Hold: time.Minute}
	ops := []counter.Op{
		{Kind: counter.OpTake, Key: counter.Key{Rule: "r/rate", Subject: "ip=a"}, Limit: 1, Window: time.Minute},
		{},
		{Kind: counter.OpTakeDistinct, Key: counter.Key{Rule: "r/spray", Subject: "ip=a"}, Value: "bob", Limit: 1, Window: time.Minute},
		{Kind: counter.OpReserve, Key: counter.Key{Rule: "r/lock", Subject: "user=bob"}, Lockout: l},
	}
	counter.Do(context.Background(), s, ops)
	for i, op := range ops {
		if op.Err != nil || (op.Kind != 0 && !op.Result.Allowed) {
			t.Fatalf("op %d: %+v", i, op)
		}
	}
	if ops[3].Result.Token == 0 {
		t.Fatal("no reservation token")
	}
	if got := c.Stats().Calls - before; got != 1 {
		t.Fatalf("%d round trips for one batch", got)
	}
	// After a restart the script cache is empty: EVALSHA meets NOSCRIPT
	// and falls back to EVAL, in the batch and in single calls.
	srv.Restart()
	time.Sleep(100 * time.Millisecond)
	ops = ops[:1]
	ops[0].Result, ops[0].Err = counter.Result{}, nil
	counter.Do(context.Background(), s, ops)
	if ops[0].Err != nil || !ops[0].Result.Allowed {
		t.Fatalf("after restart: %+v", ops[0])
	}
	srv.Restart()
	time.Sleep(100 * time.Millisecond)
	if r, err := s.Take(context.Background(), counter.Key{Rule: "x", Subject: "y"}, 1, time.Minute); err != nil || !r.Allowed {
		t.Fatalf("single call after restart: %+v %v", r, err)
	}
}

func TestNoRawSubjectInRedis(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	ctx := context.Background()
	const user, ip = "victim.name@example.org", "198.51.100.77"
	l := counter.Lockout{Limit: 2, Window: time.Minute, LockFor: time.Minute, Hold: time.Minute}
	_, _ = s.Take(ctx, counter.Key{Rule: "login/rate ip_user", Subject: "ip=" + ip + "/32 user=" + user}, 5, time.Minute)
	_, _ = s.TakeDistinct(ctx, counter.Key{Rule: "login/spray ip", Subject: "ip=" + ip + "/32"}, user, 5, time.Minute)
	r, _ := s.Reserve(ctx, counter.Key{Rule: "login/lockout user", Subject: "user=" + user}, l)
	_, _ = s.Settle(ctx, counter.Key{Rule: "login/lockout user", Subject: "user=" + user}, l, r.Token, counter.Failure)
	_ = NewOnceSet(c, "loginid").Remember(ctx, []byte(user), time.Minute)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 8 {
		t.Fatalf("keys %v %v", keys, err)
	}
	for _, k := range keys {
		dump := k
		switch rc.Type(ctx, k).Val() {
		case "zset":
			m, _ := rc.ZRange(ctx, k, 0, -1).Result()
			dump += strings.Join(m, " ")
		case "hash":
			m, _ := rc.HGetAll(ctx, k).Result()
			dump += fmt.Sprint(m)
		case "string":
			dump += rc.Get(ctx, k).Val()
		}
		if strings.Contains(dump, user) || strings.Contains(dump, "victim") || strings.Contains(dump, ip) {
			t.Errorf("raw subject in Redis: %s", dump)
		}
		if ttl := rc.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", k, ttl)
		}
	}
}

func TestOnceSetAcrossInstances(t *testing.T) {
	_, cfg := cluster(t)
	a, b := NewOnceSet(instance(t, cfg), "loginid"), NewOnceSet(instance(t, cfg), "loginid")
	var fresh, seen atomic.Int64
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*OnceSet{a, b}[i%2]
			switch err := s.Remember(context.Background(), []byte("nonce-1"), time.Minute); {
			case err == nil:
				fresh.Add(1)
			case errors.Is(err, ErrSeen):
				seen.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 || seen.Load() != 29 {
		t.Fatalf("fresh %d seen %d", fresh.Load(), seen.Load())
	}
	// Another namespace is another set.
	if err := NewOnceSet(a.c, "stepup").Remember(context.Background(), []byte("nonce-1"), time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestStartChecks(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	other, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Open(); err != nil {
		t.Fatal(err)
	}
	if err := other.Bind(context.Background(), "fp-2", testSecret); !errors.Is(err, ErrFingerprint) {
		t.Fatalf("other key material: %v", err)
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "noeviction") {
		t.Fatalf("evicting policy accepted: %v", err)
	}
}

// TestOutOfMemoryIsFull: at maxmemory what needs a new write is Full (the
// route's on_full applies), while a user already locked, a client already
// over its limit and a distinct value already counted are judged as ever.
func TestOutOfMemoryIsFull(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	ctx := context.Background()
	l := counter.Lockout{Limit: 2, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	locked, limited, under, spray := counter.Key{Rule: "lock", Subject: "user=alice"}, counter.Key{Rule: "rate", Subject: "ip=a"}, counter.Key{Rule: "rate", Subject: "ip=b"}, counter.Key{Rule: "spray", Subject: "ip=a"}
	for range 2 {
		r, err := s.Reserve(ctx, locked, l)
		if err != nil || !r.Allowed {
			t.Fatalf("reserve: %+v %v", r, err)
		}
		if ok, err := s.Settle(ctx, locked, l, r.Token, counter.Failure); !ok || err != nil {
			t.Fatalf("settle: %v %v", ok, err)
		}
		if _, err := s.Take(ctx, limited, 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Take(ctx, under, 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeDistinct(ctx, spray, "u1", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := s.Take(ctx, counter.Key{Rule: "r", Subject: "s"}, 5, time.Minute)
	if err != nil || !r.Full || r.Allowed {
		t.Fatalf("take at maxmemory: %+v %v", r, err)
	}
	if r, err := s.Take(ctx, under, 2, time.Minute); err != nil || !r.Full {
		t.Fatalf("a take under its limit needs a write: %+v %v", r, err)
	}
	if r, err := s.Take(ctx, limited, 2, time.Minute); err != nil || r.Full || r.Allowed || r.Count != 2 || r.RetryAfter <= 0 {
		t.Fatalf("a client over its limit at maxmemory: %+v %v", r, err)
	}
	if r, err := s.Reserve(ctx, locked, l); err != nil || r.Full || r.Allowed || !r.Locked || r.RetryAfter < 59*time.Minute {
		t.Fatalf("a locked user at maxmemory: %+v %v", r, err)
	}
	if r, err := s.TakeDistinct(ctx, spray, "u1", 5, time.Minute); err != nil || r.Full || !r.Allowed || r.Count != 1 {
		t.Fatalf("a distinct value already counted: %+v %v", r, err)
	}
	if r, err := s.TakeDistinct(ctx, spray, "u2", 5, time.Minute); err != nil || !r.Full {
		t.Fatalf("a new distinct value: %+v %v", r, err)
	}
	// One batch mixing them: one answer each.
	ops := []counter.Op{{Kind: counter.OpTake, Key: limited, Limit: 2, Window: time.Minute}, {Kind: counter.OpTake, Key: under, Limit: 2, Window: time.Minute}, {Kind: counter.OpReserve, Key: locked, Lockout: l}}
	s.Batch(ctx, ops)
	if ops[0].Result.Full || ops[0].Result.Allowed || !ops[1].Result.Full || !ops[2].Result.Locked || ops[0].Err != nil || ops[1].Err != nil || ops[2].Err != nil {
		t.Fatalf("batch at maxmemory: %+v", ops)
	}
	if err := NewOnceSet(c, "x").Remember(context.Background(), []byte("n"), time.Minute); !errors.Is(err, ErrFull) {
		t.Fatalf("once at maxmemory: %v", err)
	}
	if c.Stats().OutOfMemory == 0 || c.Stats().Failures != 0 {
		t.Fatalf("stats %+v", c.Stats())
	}
}

// TestProbeOfAGoneCallerLeavesTheBreakerOpen: the probe after the
// cool-down belongs to a request that went away before Redis answered.
// That says nothing about Redis, so the breaker stays open (closing it
// sent the next calls to a Redis still down, each waiting out its
// timeout), and the next call is the probe.
func TestProbeOfAGoneCallerLeavesTheBreakerOpen(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	k := counter.Key{Rule: "r", Subject: "s"}
	srv.Stop()
	for !c.Stats().BreakerOpen {
		if _, err := s.Take(context.Background(), k, 3, time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("with Redis down: %v", err)
		}
	}
	time.Sleep(breakerCoolDown)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Take(gone, k, 3, time.Minute); err == nil {
		t.Fatal("a call for a gone caller succeeded")
	}
	if !c.Stats().BreakerOpen {
		t.Fatal("a gone caller's probe closed the breaker while Redis is down")
	}
	probes := c.Stats().Calls
	if _, err := s.Take(context.Background(), k, 3, time.Minute); !errors.Is(err, ErrUnavailable) || c.Stats().Calls != probes+1 {
		t.Fatalf("the next call must be the probe: %v, %d calls", err, c.Stats().Calls-probes)
	}
}

func TestOutageBoundedAndRecovers(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	c := instance(t, cfg)
	s := NewCounter(c)
	k := counter.Key{Rule: "r", Subject: "s"}
	srv.Stop()
	for i := range 6 {
		start := time.Now()
		_, err := s.Take(context.Background(), k, 3, time.Minute)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d with Redis down: %v", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("call %d took %v", i, d)
		}
	}
	if st := c.Stats(); !st.BreakerOpen || st.RefusedOpen == 0 {
		t.Fatalf("breaker not open: %+v", st)
	}
	srv.Restart()
	deadline := time.Now().Add(3 * breakerCoolDown)
	for {
		r, err := s.Take(context.Background(), k, 3, time.Minute)
		if err == nil {
			if !r.Allowed || r.Count != 1 {
				t.Fatalf("after recovery: %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.Stats().BreakerOpen {
		t.Fatal("breaker still open")
	}
}

func TestNotReadyBeforeBind(t *testing.T) {
	_, cfg := single(t)
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := NewCounter(c).Take(context.Background(), counter.Key{Rule: "r", Subject: "s"}, 1, time.Minute); !errors.Is(err, ErrNotReady) {
		t.Fatal(err)
	}
}

func TestHeldBackendTakeOnce(t *testing.T) {
	_, cfg := cluster(t)
	a, b := NewHeldBackend(instance(t, cfg)), NewHeldBackend(instance(t, cfg))
	if err := a.Store("handle-1", []byte("sealed"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Has("handle-1"); !ok || err != nil {
		t.Fatalf("has: %v %v", ok, err)
	}
	var got atomic.Int64
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := []*HeldBackend{a, b}[i%2].Take("handle-1")
			switch {
			case err == nil && string(s) == "sealed":
				got.Add(1)
			case errors.Is(err, stepup.ErrHeldGone):
			default:
				t.Error(s, err)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 1 {
		t.Fatalf("%d takes got the entry, want 1", got.Load())
	}
	sp := NewSpentSet(a.c, "stepup")
	now := time.Now()
	if ok, err := sp.Mark("state:h", now.Add(time.Minute), now); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := NewSpentSet(b.c, "stepup").Mark("state:h", now.Add(time.Minute), now); ok || err != nil {
		t.Fatal("spent twice", ok, err)
	}
	if seen, err := NewSpentSet(b.c, "stepup").Seen("state:h", now); !seen || err != nil {
		t.Fatal("spent on one instance, not seen on the other", err)
	}
	if seen, err := NewSpentSet(b.c, "stepup").Seen("state:other", now); seen || err != nil {
		t.Fatal("a fresh token seen", err)
	}
}

func TestSmileIDJobsAcrossInstances(t *testing.T) {
	_, cfg := cluster(t)
	a, b := NewSmileIDJobs(instance(t, cfg), time.Minute), NewSmileIDJobs(instance(t, cfg), time.Minute)
	if err := a.Register("job-1", "alice@example.org", "handle-1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Register("job-1", "bob", "h"); !errors.Is(err, smileid.ErrDuplicateJob) {
		t.Fatalf("duplicate: %v", err)
	}
	e, err := b.Lookup("job-1")
	if err != nil || e.UserID != "alice@example.org" || e.StateHandle != "handle-1" || e.State != smileid.StatePending || e.ExpiresAt.Sub(e.RegisteredAt) != time.Minute {
		t.Fatalf("lookup on the other instance: %+v %v", e, err)
	}
	if _, err := b.Complete("job-1"); !errors.Is(err, smileid.ErrNotAuthenticated) {
		t.Fatalf("complete while pending: %v", err)
	}
	for i := range 3 {
		if _, err := []*SmileIDJobs{a, b}[i%2].TakeConfirm("job-1", 2); (i < 2) != (err == nil) {
			t.Fatalf("confirm %d: %v", i, err)
		}
	}
	var d [32]byte
	d[0] = 7
	if seen, err := a.SeenCallback("job-1", d); seen || err != nil {
		t.Fatalf("seen before marked: %v", err)
	}
	b.MarkCallback("job-1", d)
	if seen, _ := a.SeenCallback("job-1", d); !seen {
		t.Fatal("callback marked on b not seen on a")
	}
	e, changed, err := a.Settle("job-1", smileid.StateAuthenticated, "0810", "Enroll User", "sj-1")
	if err != nil || !changed || e.State != smileid.StateAuthenticated || e.ResultCode != "0810" {
		t.Fatalf("settle: %+v %v %v", e, changed, err)
	}
	if _, changed, _ := b.Settle("job-1", smileid.StateRejected, "0811", "x", "sj-1"); changed {
		t.Fatal("a terminal state moved")
	}
	var got atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e, err := []*SmileIDJobs{a, b}[i%2].Complete("job-1"); err == nil && e.UserID == "alice@example.org" {
				got.Add(1)
			}
		}()
	}
	wg.Wait()
	if got.Load() != 1 || b.Status("job-1") != smileid.StateUnknown {
		t.Fatalf("completed %d times", got.Load())
	}
}

func TestFailureCounterAcrossInstances(t *testing.T) {
	srv, cfg := single(t)
	a, b := NewFailureCounter(instance(t, cfg)), NewFailureCounter(instance(t, cfg))
	now := time.Now()
	for i := 1; i <= 4; i++ {
		n, full := []*FailureCounter{a, b}[i%2].Add("state-1", now.Add(time.Minute), now)
		if full || n != i {
			t.Fatalf("add %d: %d %v", i, n, full)
		}
	}
	b.Forget("state-1")
	if n, _ := a.Add("state-1", now.Add(time.Minute), now); n != 1 {
		t.Fatalf("after forget: %d", n)
	}
	srv.Stop()
	if _, full := a.Add("state-2", now.Add(time.Minute), now); !full {
		t.Fatal("a count that could not be made must report full (fail closed)")
	}
}

func TestExactAcrossInstancesSentinel(t *testing.T) {
	master := redisproc.Start(t)
	s := redisproc.StartSentinel(t, "guard", master)
	exactness(t, Config{Mode: ModeSentinel, MasterName: "guard", Addresses: []string{s.Addr()}, Timeout: 2 * time.Second})
}

// TestHeldSharesAcrossInstances: the per-client and per-user caps of the
// held store hold however the puts are spread over instances.
func TestHeldSharesAcrossInstances(t *testing.T) {
	_, cfg := cluster(t)
	a := stepup.NewSharedHeld(NewHeldBackend(instance(t, cfg)), time.Minute)
	b := stepup.NewSharedHeld(NewHeldBackend(instance(t, cfg)), time.Minute)
	for _, h := range []*stepup.SharedHeld{a, b} {
		h.SetCaps(3, 1<<20, 2)
	}
	req := stepup.Request{Method: "POST", URL: "/login", Body: []byte("username=u&password=p")}
	put := func(h *stepup.SharedHeld, client, user string) error {
		_, err := h.PutRequest(stepup.Owner{Client: client, User: user}, req)
		return err
	}
	// User cap 2: the third entry of one user, from anywhere, is refused.
	if err := put(a, "198.51.100.0/24", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := put(b, "203.0.113.0/24", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := put(a, "192.0.2.0/24", "alice"); stepup.ReasonOf(err) != stepup.ReasonHeldFull {
		t.Fatalf("third entry of one user: %v", err)
	}
	// Client cap 3: that refusal did not spend the client's share.
	if err := put(b, "192.0.2.0/24", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := put(a, "192.0.2.0/24", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := put(b, "192.0.2.0/24", "dave"); err != nil {
		t.Fatal(err)
	}
	if err := put(a, "192.0.2.0/24", "erin"); stepup.ReasonOf(err) != stepup.ReasonHeldFull {
		t.Fatalf("fourth entry of one client: %v", err)
	}
	if a.Stats().Refused != 2 {
		t.Fatalf("stats %+v", a.Stats())
	}
}

func TestCeremonySharesAcrossInstances(t *testing.T) {
	_, cfg := single(t)
	a, b := NewCeremonyBackend(instance(t, cfg)), NewCeremonyBackend(instance(t, cfg))
	for i, be := range []*CeremonyBackend{a, b, a} {
		ok, err := be.Admit("192.0.2.0/24", fmt.Sprint("h", i), 2, time.Minute)
		if err != nil || ok != (i < 2) {
			t.Fatalf("ceremony %d: %v %v", i, ok, err)
		}
	}
	if ok, err := b.Admit("198.51.100.0/24", "h9", 2, time.Minute); !ok || err != nil {
		t.Fatalf("another client: %v %v", ok, err)
	}
}

// TestEachMasterOneAtATime: the admin's List and Clear gather what every
// master holds into one list and one count, so eachMaster must not run
// its function on two masters at once (go-redis's ForEachMaster does).
func TestEachMasterOneAtATime(t *testing.T) {
	_, cfg := cluster(t)
	c := instance(t, cfg)
	var inFlight, most, masters atomic.Int32
	err := c.eachMaster(context.Background(), func(context.Context, *redis.Client) error {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(50 * time.Millisecond)
		inFlight.Add(-1)
		masters.Add(1)
		return nil
	})
	if err != nil || masters.Load() != 3 || most.Load() != 1 {
		t.Fatalf("%d masters visited, at most %d at once (%v)", masters.Load(), most.Load(), err)
	}
}

// TestStartThroughAnOutage: a Start that cannot reach Redis returns
// unreachable, not an error, and binds in the background once Redis is
// back; a later Start that binds at once settles it, and the earlier
// one's key material is never bound over it.
func TestStartThroughAnOutage(t *testing.T) {
	srv, cfg := single(t)
	srv.Stop()
	c := opened(t, cfg)
	if ok, err := c.Start("fp-old", testSecret); ok || err != nil {
		t.Fatalf("with Redis away: reachable %v, %v", ok, err)
	}
	s := NewCounter(c)
	if _, err := s.Take(context.Background(), counter.Key{Rule: "r", Subject: "s"}, 1, time.Minute); !errors.Is(err, ErrNotReady) {
		t.Fatalf("a call before the bind: %v", err)
	}
	srv.Restart()
	// A newer config's start binds at once, with other key material.
	other := []byte("fedcba9876543210fedcba9876543210")
	if ok, err := c.Start("fp-new", other); !ok || err != nil {
		t.Fatalf("once Redis answers: reachable %v, %v", ok, err)
	}
	time.Sleep(3 * RetryStartEvery)
	c.mu.Lock()
	pending, retrying := c.pending, c.retrying
	c.mu.Unlock()
	if pending != nil || retrying {
		t.Fatal("the older start is still retried")
	}
	cl, _ := c.opened()
	if got, err := cl.Get(context.Background(), c.Config().Prefix+"fingerprint").Result(); got != "fp-new" {
		t.Fatalf("fingerprint recorded %q %v", got, err)
	}
	want, _ := newKeyer(c.Config().Prefix, other)
	if k := c.keys.Load(); k == nil || k.hash(8, "x") != want.hash(8, "x") {
		t.Fatal("the older start's key material was bound over the newer one's")
	}
}

// TestClearedLockoutTokensNotReused: an admin clear starts a lockout
// counter again; an attempt still in flight from before settles with its
// old token, which must not release a reservation made since (the slots
// would overshoot the limit).
func TestClearedLockoutTokensNotReused(t *testing.T) {
	_, cfg := single(t)
	s := NewCounter(instance(t, cfg))
	ctx := context.Background()
	l := counter.Lockout{Limit: 2, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	k := counter.Key{Rule: "lock", Subject: "user=alice"}
	old, err := s.Reserve(ctx, k, l)
	if err != nil || !old.Allowed {
		t.Fatalf("reserve: %+v %v", old, err)
	}
	if n, err := s.Clear(ctx, counter.Filter{Subject: "user=alice"}); err != nil || n != 1 {
		t.Fatalf("clear: %d %v", n, err)
	}
	for i := range 2 {
		r, err := s.Reserve(ctx, k, l)
		if err != nil || !r.Allowed || r.Token == old.Token {
			t.Fatalf("reserve %d after the clear: %+v %v (the old token was %d)", i, r, err, old.Token)
		}
	}
	// The attempt from before the clear ends.
	if _, err := s.Settle(ctx, k, l, old.Token, counter.Release); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Reserve(ctx, k, l); err != nil || r.Allowed {
		t.Fatalf("a third attempt beside two in flight (limit 2): %+v %v", r, err)
	}
}

// TestListJudgesRateCounters: the admin view reads a rate counter as the
// counting script would judge it: over its limit, with the wait until it
// is not; one under its limit is not limited.
func TestListJudgesRateCounters(t *testing.T) {
	_, cfg := single(t)
	s := NewCounter(instance(t, cfg))
	ctx := context.Background()
	over, under := counter.Key{Rule: "rate", Subject: "ip=a"}, counter.Key{Rule: "rate", Subject: "ip=b"}
	for range 2 {
		if _, err := s.Take(ctx, over, 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Take(ctx, under, 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	es, err := s.List(ctx, counter.Filter{}, 0)
	if err != nil || len(es) != 2 {
		t.Fatalf("list: %+v %v", es, err)
	}
	if e := es[0]; e.Key != over || !e.Limited || e.Count != 2 || e.RetryAfter <= 0 || e.RetryAfter > time.Minute || e.Kind != "rate" {
		t.Fatalf("the counter over its limit: %+v", e)
	}
	if e := es[1]; e.Key != under || e.Limited || e.Count != 1 || e.RetryAfter != 0 {
		t.Fatalf("the counter under its limit: %+v", e)
	}
}

// TestStartAtMaxmemory: a Redis at maxmemory refuses writes, SETNX
// included; a start that finds its fingerprint recorded binds all the
// same, and a new deployment's start waits (on_store_failure) instead of
// refusing Caddy's start.
func TestStartAtMaxmemory(t *testing.T) {
	srv, cfg := single(t)
	instance(t, cfg) // records fp-1
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	c := opened(t, cfg)
	if ok, err := c.Start("fp-1", testSecret); !ok || err != nil {
		t.Fatalf("the recorded deployment at maxmemory: reachable %v, %v", ok, err)
	}
	other := cfg
	other.Prefix = "other:"
	d := opened(t, other)
	if ok, err := d.Start("fp-2", testSecret); ok || err != nil {
		t.Fatalf("a new deployment at maxmemory: reachable %v, %v (want to wait, not refuse)", ok, err)
	}
}

// TestRefusedStartLeavesThePendingOne: a config that started while Redis
// was away is still bound once Redis answers, even if a reload meanwhile
// was refused (its start failed on what Redis or its config said).
func TestRefusedStartLeavesThePendingOne(t *testing.T) {
	srv, cfg := single(t)
	srv.Stop()
	c := opened(t, cfg)
	if ok, err := c.Start("fp-running", testSecret); ok || err != nil {
		t.Fatalf("with Redis away: %v %v", ok, err)
	}
	srv.Restart()
	if _, err := c.Start("fp-refused", []byte("short")); err == nil || unreachable(err) {
		t.Fatalf("the refused reload's start: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.keys.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the running config's start was dropped with the refused one")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deferred settlements (Counter.Defer) land as the request's own would
// have: every failure counted, the lock made, and the settlements queued
// while a round trip is under way go out together in the next.
func TestDeferredSettlements(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	ctx := context.Background()
	l := counter.Lockout{Limit: 3, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	const users = 40
	key := func(i int) counter.Key {
		return counter.Key{Rule: "login/lockout user 3/1m for 1h", Subject: fmt.Sprintf("user=u%d", i)}
	}
	// Three attempts a user, all reserved before any settles.
	var tokens [users][3]int64
	for i := range users {
		for j := range 3 {
			r, err := s.Reserve(ctx, key(i), l)
			if err != nil || !r.Allowed {
				t.Fatalf("reserve %d/%d: %+v %v", i, j, r, err)
			}
			tokens[i][j] = r.Token
		}
	}
	// Redis paused: the first settlement's round trip waits, and the
	// rest queue behind it.
	if _, err := srv.Do("CLIENT", "PAUSE", "300", "ALL"); err != nil {
		t.Fatal(err)
	}
	before := c.Stats().Calls
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range users {
		for j := range 3 {
			wg.Add(1)
			ops := []counter.Op{{Kind: counter.OpSettle, Key: key(i), Lockout: l, Token: tokens[i][j], Settlement: counter.Failure}}
			if !s.Defer(ops, settledFunc(func(ops []counter.Op) {
				if ops[0].Err != nil || !ops[0].Recorded {
					failed.Add(1)
				}
				wg.Done()
			})) {
				t.Fatal("an idle settler refused a settlement")
			}
		}
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d deferred settlements failed", n)
	}
	if n := c.Stats().Calls - before; n > 2 {
		t.Fatalf("%d settlements took %d round trips, want at most 2", users*3, n)
	}
	for i := range users {
		r, err := s.Reserve(ctx, key(i), l)
		if err != nil || r.Allowed || !r.Locked {
			t.Fatalf("user %d after three deferred failures: %+v %v", i, r, err)
		}
	}
}

// Close sends what is queued before it closes the client; a closed store
// takes no more.
func TestDeferredSettlementsDrainedOnClose(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	other := NewCounter(instance(t, cfg))
	ctx := context.Background()
	l := counter.Lockout{Limit: 1, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	k := counter.Key{Rule: "login/lockout user 1/1m for 1h", Subject: "user=last"}
	r, err := s.Reserve(ctx, k, l)
	if err != nil || !r.Allowed {
		t.Fatal(r, err)
	}
	if _, err := srv.Do("CLIENT", "PAUSE", "300", "ALL"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	if !s.Defer([]counter.Op{{Kind: counter.OpSettle, Key: k, Lockout: l, Token: r.Token, Settlement: counter.Failure}},
		settledFunc(func(ops []counter.Op) { done <- ops[0].Err })) {
		t.Fatal("refused")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the settlement queued before Close failed: %v", err)
		}
	default:
		t.Fatal("Close returned before the queued settlement was sent")
	}
	if r, err := other.Reserve(ctx, k, l); err != nil || !r.Locked {
		t.Fatalf("the failure settled at Close did not lock: %+v %v", r, err)
	}
	release := []counter.Op{{Kind: counter.OpSettle, Key: k, Lockout: l, Settlement: counter.Release}}
	if s.Defer(release, settledFunc(func([]counter.Op) {})) {
		t.Fatal("a closed store took a settlement")
	}
}

// A full queue makes settlements wait for room instead of being refused
// (the order of several waiting is TestSettlerQueuesInTurn's), what was
// queued lands in the order it came (a failure, then a success that
// forgets it), and the queue goes out deferredChunk settlements a round
// trip.
func TestDeferredSettlementsWaitForRoom(t *testing.T) {
	srv, cfg := single(t)
	c := instance(t, cfg)
	s := NewCounter(c)
	ctx := context.Background()
	l := counter.Lockout{Limit: 3, Window: time.Minute, LockFor: time.Hour, Hold: time.Minute}
	k := counter.Key{Rule: "login/lockout user 3/1m for 1h", Subject: "user=ordered"}
	var tok [2]int64
	for i := range tok {
		r, err := s.Reserve(ctx, k, l)
		if err != nil || !r.Allowed {
			t.Fatal(r, err)
		}
		tok[i] = r.Token
	}
	if _, err := srv.Do("CLIENT", "PAUSE", "300", "ALL"); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	before := c.Stats().Calls
	var wg sync.WaitGroup
	var failed atomic.Int64
	count := settledFunc(func(ops []counter.Op) {
		if ops[0].Err != nil {
			failed.Add(1)
		}
		wg.Done()
	})
	wg.Add(1)
	s.Defer([]counter.Op{{Kind: counter.OpSettle, Key: k, Lockout: l, Token: tok[0], Settlement: counter.Failure}}, count)
	filler := counter.Op{Kind: counter.OpSettle, Key: counter.Key{Rule: k.Rule, Subject: "user=filler"}, Lockout: l, Settlement: counter.Release}
	const fillers = maxDeferredOps + deferredChunk
	for range fillers {
		wg.Add(1)
		s.Defer([]counter.Op{filler}, count)
	}
	// The queue filled up behind the paused round trip (which holds at
	// most one chunk), so the fillers' last ones and this one waited for
	// room.
	wg.Add(1)
	if !s.Defer([]counter.Op{{Kind: counter.OpSettle, Key: k, Lockout: l, Token: tok[1], Settlement: counter.Success}}, count) {
		t.Fatal("refused")
	}
	if waited := time.Since(paused); waited < 100*time.Millisecond {
		t.Fatalf("a settlement was queued %v into a 300 ms pause, past a full queue", waited)
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d settlements failed", n)
	}
	if n, min := c.Stats().Calls-before, uint64((fillers+2)/deferredChunk); n < min {
		t.Fatalf("%d settlements in %d round trips, want at least %d (%d a round trip at most)", fillers+2, n, min, deferredChunk)
	}
	// The success came last: it forgot the failure before it.
	r, err := s.Reserve(ctx, k, l)
	if err != nil || !r.Allowed || r.Count != 1 {
		t.Fatalf("after a failure then a success, settled in that order: %+v %v (count 1 wanted)", r, err)
	}
}

// A logout Redis cannot take is kept by the instance that served it: its
// cookie is refused there at once, Redis down or not, and the logout is
// sent again until Redis takes it, so every instance refuses the cookie
// once Redis is back.
func TestRevocationKeptThroughAnOutage(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	a, b := NewRevokeSet(instance(t, cfg)), NewRevokeSet(instance(t, cfg))
	ctx := context.Background()
	now := time.Now()
	srv.Stop()
	err := a.Revoke(ctx, "session-1", now.Add(time.Hour), now)
	if !errors.Is(err, revoke.ErrKept) {
		t.Fatalf("a logout with Redis down: %v", err)
	}
	if revoked, err := a.Revoked(ctx, "session-1", now); !revoked || err != nil {
		t.Fatalf("the instance that kept the logout answered %v, %v with Redis down", revoked, err)
	}
	if revoked, _ := a.Revoked(ctx, "session-2", now); revoked {
		t.Fatal("another session read as ended")
	}
	if _, err := b.Revoked(ctx, "session-1", now); err == nil {
		t.Fatal("the other instance answered without Redis")
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		revoked, err := b.Revoked(ctx, "session-1", time.Now())
		if revoked && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kept logout never reached Redis: %v, %v", revoked, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Sent: the instance keeps it no longer, and its retries end.
	p := &a.once.c.revokes
	for deadline := time.Now().Add(5 * time.Second); ; {
		p.mu.Lock()
		n, running := len(p.until), p.running
		p.mu.Unlock()
		if n == 0 && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d kept, retrying %v, after Redis took them", n, running)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The refused-factor count is read as the instances share it, and a
// count that cannot be read is an error (the state is then refused).
func TestFailureCountRead(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	a, b := NewFailureCounter(instance(t, cfg)), NewFailureCounter(instance(t, cfg))
	now := time.Now()
	if n, err := a.Count("state-1", now); n != 0 || err != nil {
		t.Fatalf("no failures yet: %d %v", n, err)
	}
	a.Add("state-1", now.Add(time.Minute), now)
	b.Add("state-1", now.Add(time.Minute), now)
	if n, err := a.Count("state-1", now); n != 2 || err != nil {
		t.Fatalf("two failures on two instances: %d %v", n, err)
	}
	srv.Stop()
	if _, err := b.Count("state-1", now); err == nil {
		t.Fatal("a count read with Redis down")
	}
}

// TestKeptLogoutsHandedOnAtClose: a connection closing with logouts Redis
// never took hands them on (unexpired ones only), and another
// connection's revocation set restoring them refuses their cookies at
// once and sends them to Redis once it answers, as if it had served them.
func TestKeptLogoutsHandedOnAtClose(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	ctx := context.Background()
	now := time.Now()
	closing := instance(t, cfg)
	var handed []KeptLogout
	closing.HandOffKept(&HandOff{Take: func(k []KeptLogout) error { handed = k; return nil }})
	a := NewRevokeSet(closing)
	srv.Stop()
	for _, id := range []string{"session-1", "session-2"} {
		if err := a.Revoke(ctx, id, now.Add(time.Hour), now); !errors.Is(err, revoke.ErrKept) {
			t.Fatalf("a logout with Redis down: %v", err)
		}
	}
	// One whose cookie expires before the close is not handed on.
	if err := a.Revoke(ctx, "session-short", now.Add(50*time.Millisecond), now); !errors.Is(err, revoke.ErrKept) {
		t.Fatalf("a short logout with Redis down: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := closing.Close(); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, k := range handed {
		ids[k.ID] = true
	}
	if len(handed) != 2 || !ids["session-1"] || !ids["session-2"] {
		t.Fatalf("handed on at close: %v", handed)
	}
	if n := closing.Stats().LogoutsKept; n != 0 {
		t.Fatalf("%d logouts still kept after the close", n)
	}

	srv.Restart()
	b, other := NewRevokeSet(instance(t, cfg)), NewRevokeSet(instance(t, cfg))
	expired := KeptLogout{ID: "session-old", Until: time.Now().Add(-time.Second)}
	if n, refused := b.Restore(append(handed, expired), time.Now()); n != 2 || len(refused) != 0 {
		t.Fatalf("refused %v: want the 2 unexpired kept, the expired one dropped", refused)
	}
	// A closed connection keeps nothing more: what it is given comes
	// back, for the caller to hand on elsewhere.
	if n, refused := a.Restore(handed, time.Now()); n != 0 || len(refused) != 2 {
		t.Fatalf("a closed connection's set refused %v, want both back", refused)
	}
	if revoked, err := b.Revoked(ctx, "session-1", time.Now()); !revoked || err != nil {
		t.Fatalf("a restored logout's cookie: %v, %v", revoked, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		r1, err1 := other.Revoked(ctx, "session-1", time.Now())
		r2, err2 := other.Revoked(ctx, "session-2", time.Now())
		if r1 && r2 && err1 == nil && err2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restored logouts never reached Redis: %v %v %v %v", r1, err1, r2, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if revoked, _ := other.Revoked(ctx, "session-old", time.Now()); revoked {
		t.Fatal("an expired logout was restored")
	}
}
