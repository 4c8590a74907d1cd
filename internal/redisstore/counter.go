package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/rules/counter"
)

// Counter is the rules' counter.Store on Redis: exact across every
// instance sharing the Redis (see the package doc for what a lost reply
// means). A request's operations go in one pipelined round trip (Batch).
// Redis memory, not a key count, bounds it: at maxmemory a counter
// already over its limit or locked still refuses, and what would need a
// write is reported as Result.Full, so each route's on_full applies.
type Counter struct{ c *Conn }

// NewCounter returns the counter store on c.
func NewCounter(c *Conn) *Counter { return &Counter{c: c} }

func us(d time.Duration) int64 { return d.Microseconds() }

// call builds the script call for op, or returns an error for bad input.
func (s *Counter) prepare(k *keyer, op *counter.Op) (scriptCall, error) {
	tag := k.counterTag(op.Key.Rule, op.Key.Subject)
	ks := k.counterKeys(tag)
	switch op.Kind {
	case counter.OpTake, counter.OpTakeDistinct:
		if op.Limit < 1 || op.Window <= 0 {
			return scriptCall{}, errors.New("counter: limit and window must be positive")
		}
		sealed := k.seal(tag, op.Key.Subject)
		if op.Kind == counter.OpTake {
			return scriptCall{script: takeScript, keys: []string{ks.meta, ks.a},
				args: []any{op.Limit, us(op.Window), op.Key.Rule, sealed}}, nil
		}
		return scriptCall{script: distinctScript, keys: []string{ks.meta, ks.a},
			args: []any{op.Limit, us(op.Window), k.member(op.Key.Rule, op.Value), op.Key.Rule, sealed}}, nil
	case counter.OpReserve, counter.OpSettle:
		l := op.Lockout
		if l.Limit < 1 || l.Window <= 0 || l.LockFor <= 0 || l.Hold <= 0 {
			return scriptCall{}, errors.New("counter: lockout limit, window, duration and hold must be positive")
		}
		args := []any{l.Limit, us(l.Window), us(l.LockFor), us(l.Hold), op.Key.Rule, k.seal(tag, op.Key.Subject)}
		keys := []string{ks.meta, ks.a, ks.b}
		if op.Kind == counter.OpReserve {
			return scriptCall{script: reserveScript, keys: keys, args: args}, nil
		}
		return scriptCall{script: settleScript, keys: keys, args: append(args, op.Token, int(op.Settlement))}, nil
	case counter.OpPeekLockout:
		// judgeScript writes nothing (and so runs at maxmemory too).
		l := op.Lockout
		if l.Limit < 1 || l.Window <= 0 || l.LockFor <= 0 || l.Hold <= 0 {
			return scriptCall{}, errors.New("counter: lockout limit, window, duration and hold must be positive")
		}
		return scriptCall{script: judgeScript, keys: []string{ks.meta, ks.a, ks.b}, args: []any{"lockout", l.Limit, us(l.Window), us(l.Hold)}}, nil
	}
	return scriptCall{}, fmt.Errorf("counter: unknown operation %d", op.Kind)
}

// read fills op's outputs from its script's reply.
func read(op *counter.Op, cmd *redis.Cmd) {
	err := cmd.Err()
	if isOOM(err) {
		// Nothing ran (the scripts are refused whole): the caller's
		// on_full applies, as for a full memory store, unless judgeScript
		// can say more (see readJudge).
		if op.Kind == counter.OpSettle {
			op.Recorded = false
		} else {
			op.Result = counter.Result{Full: true}
		}
		return
	}
	if err != nil {
		op.Err = err
		return
	}
	if op.Kind == counter.OpSettle {
		op.Recorded = true
		return
	}
	if op.Kind == counter.OpPeekLockout {
		readPeek(op, cmd)
		return
	}
	v, err := cmd.Int64Slice()
	if err != nil || len(v) < 3 {
		op.Err = fmt.Errorf("redis store: unexpected script reply %v", cmd.Val())
		return
	}
	r := counter.Result{Allowed: v[0] == 1, Count: int(v[1])}
	if !r.Allowed {
		r.RetryAfter = time.Duration(v[2]) * time.Microsecond
	}
	if op.Kind == counter.OpReserve && len(v) == 5 {
		r.Locked = v[3] == 1
		r.Token = v[4]
	}
	op.Result = r
}

// Batch implements counter.Batcher: one pipelined round trip for every
// operation (a Cluster client sends one pipeline per node, in parallel),
// shared with concurrent requests' operations (see combiner). A failed
// round trip fails each operation with ErrUnavailable.
func (s *Counter) Batch(ctx context.Context, ops []counter.Op) {
	s.combined(ctx, ops, false)
}

// combined sends ops through the combiner (see combiner): patient ops
// (settlements) are never answered for waiting too long.
func (s *Counter) combined(ctx context.Context, ops []counter.Op, patient bool) {
	if s.c.cfg.Mode == ModeCluster || s.c.br.isOpen() {
		s.batch(ctx, ops, 1)
		return
	}
	s.c.combine.do(ctx, ops, s.batch, patient)
}

// batch sends ops, which requests requests are waiting for, in one round
// trip (two if Redis refuses some at maxmemory: see judgeCall).
func (s *Counter) batch(ctx context.Context, ops []counter.Op, requests int) {
	var buf [8]scriptCall
	calls := buf[:0]
	var idx [8]int
	at := idx[:0]
	var judges []scriptCall
	var judged []int
	err := s.c.callFor(ctx, requests, func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		for i := range ops {
			if ops[i].Kind == 0 {
				continue
			}
			sc, err := s.prepare(k, &ops[i])
			if err != nil {
				ops[i].Err = err
				continue
			}
			calls = append(calls, sc)
			at = append(at, i)
		}
		runBatch(ctx, cl, calls)
		// Calls Redis refused at maxmemory are judged without writing,
		// in a second round trip (only ever at maxmemory).
		for j := range calls {
			if isOOM(calls[j].cmd.Err()) {
				if jc, ok := judgeCall(k, &ops[at[j]]); ok {
					judges = append(judges, jc)
					judged = append(judged, j)
				}
			}
		}
		runBatch(ctx, cl, judges)
		// The round trips' health, for the breaker: the first error
		// that is not a script's own answer.
		for _, cs := range [][]scriptCall{calls, judges} {
			for i := range cs {
				if e := cs[i].cmd.Err(); e != nil && !isOOM(e) {
					return e
				}
			}
		}
		return nil
	})
	for j, i := range at {
		// A call Redis refused at maxmemory stays Full when only its
		// judging failed (see readJudge).
		if e := calls[j].cmd.Err(); err != nil && !isOOM(err) && e != nil && !isOOM(e) {
			// Outage, or the breaker: every unanswered op fails with it.
			ops[i].Err = err
			continue
		}
		read(&ops[i], calls[j].cmd)
	}
	for n, j := range judged {
		if ops[at[j]].Err == nil {
			readJudge(&ops[at[j]], judges[n].cmd)
		}
	}
	if err != nil && len(at) == 0 {
		for i := range ops {
			if ops[i].Kind != 0 && ops[i].Err == nil {
				ops[i].Err = err
			}
		}
	}
}

// judgeCall builds judgeScript's call for op, whose counting call Redis
// refused at maxmemory; false for a settle, which only writes.
func judgeCall(k *keyer, op *counter.Op) (scriptCall, bool) {
	ks := k.counterKeys(k.counterTag(op.Key.Rule, op.Key.Subject))
	keys := []string{ks.meta, ks.a, ks.b}
	switch op.Kind {
	case counter.OpTake:
		return scriptCall{script: judgeScript, keys: keys, args: []any{"rate", op.Limit, us(op.Window)}}, true
	case counter.OpTakeDistinct:
		return scriptCall{script: judgeScript, keys: keys, args: []any{"distinct", op.Limit, us(op.Window), k.member(op.Key.Rule, op.Value)}}, true
	case counter.OpReserve:
		l := op.Lockout
		return scriptCall{script: judgeScript, keys: keys, args: []any{"lockout", l.Limit, us(l.Window), us(l.Hold)}}, true
	}
	return scriptCall{}, false
}

// readJudge replaces the Full that read gave an op refused at maxmemory
// with judgeScript's answer where it has one: refused (over the limit,
// locked), or allowed without a write. An op that would need a write, or
// whose judging failed, stays Full.
func readJudge(op *counter.Op, cmd *redis.Cmd) {
	v, err := cmd.Int64Slice()
	if err != nil || len(v) < 4 {
		return
	}
	switch v[0] {
	case 1:
		op.Result = counter.Result{Count: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond, Locked: v[3] == 1}
	case 2:
		op.Result = counter.Result{Allowed: true, Count: int(v[1])}
	}
}

// readPeek reads judgeScript's answer to a lockout peek: only a lock
// counts (its fourth value), not a limit reached by reservations in flight.
func readPeek(op *counter.Op, cmd *redis.Cmd) {
	v, err := cmd.Int64Slice()
	if err != nil || len(v) < 4 {
		op.Err = fmt.Errorf("redis store: unexpected script reply %v", cmd.Val())
		return
	}
	op.Result = counter.Result{Allowed: true}
	if v[0] == 1 && v[3] == 1 {
		op.Result = counter.Result{Locked: true, RetryAfter: time.Duration(v[2]) * time.Microsecond}
	}
}

func (s *Counter) one(ctx context.Context, op *counter.Op) {
	ops := [1]counter.Op{*op}
	s.Batch(ctx, ops[:])
	*op = ops[0]
}

// Take implements counter.Store.
func (s *Counter) Take(ctx context.Context, k counter.Key, limit int, window time.Duration) (counter.Result, error) {
	op := counter.Op{Kind: counter.OpTake, Key: k, Limit: limit, Window: window}
	s.one(ctx, &op)
	return op.Result, op.Err
}

// TakeDistinct implements counter.Store.
func (s *Counter) TakeDistinct(ctx context.Context, k counter.Key, value string, limit int, window time.Duration) (counter.Result, error) {
	op := counter.Op{Kind: counter.OpTakeDistinct, Key: k, Value: value, Limit: limit, Window: window}
	s.one(ctx, &op)
	return op.Result, op.Err
}

// Reserve implements counter.Store.
func (s *Counter) Reserve(ctx context.Context, k counter.Key, l counter.Lockout) (counter.Result, error) {
	op := counter.Op{Kind: counter.OpReserve, Key: k, Lockout: l}
	s.one(ctx, &op)
	return op.Result, op.Err
}

// PeekLockout implements counter.Store.
func (s *Counter) PeekLockout(ctx context.Context, k counter.Key, l counter.Lockout) (counter.Result, error) {
	op := counter.Op{Kind: counter.OpPeekLockout, Key: k, Lockout: l}
	s.one(ctx, &op)
	return op.Result, op.Err
}

// Settle implements counter.Store.
func (s *Counter) Settle(ctx context.Context, k counter.Key, l counter.Lockout, token int64, st counter.Settlement) (bool, error) {
	op := counter.Op{Kind: counter.OpSettle, Key: k, Lockout: l, Token: token, Settlement: st}
	s.one(ctx, &op)
	return op.Recorded, op.Err
}

// Stats implements counter.Store. Redis's own INFO memory is the measure
// of a shared store; the instance holds nothing.
func (s *Counter) Stats() counter.Stats { return counter.Stats{} }

var _ counter.Batcher = (*Counter)(nil)
