package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// noRetryCmd marks a command go-redis must never send twice: a Cluster
// client otherwise resends a command after a network error on its
// connection, and a counting script whose reply was lost would count
// twice. Redirects (MOVED, ASK) are still followed: they mean the
// command did not run.
type noRetryCmd struct{ *redis.Cmd }

func (noRetryCmd) NoRetry() bool { return true }

// onceScripter hands Script.Run commands that are never resent.
type onceScripter struct {
	redis.Scripter
	proc interface {
		Process(ctx context.Context, cmd redis.Cmder) error
	}
}

func (s onceScripter) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	return s.send(ctx, "evalsha", sha, keys, args)
}

func (s onceScripter) Eval(ctx context.Context, src string, keys []string, args ...any) *redis.Cmd {
	return s.send(ctx, "eval", src, keys, args)
}

func (s onceScripter) send(ctx context.Context, verb, script string, keys []string, args []any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, verb, script, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	cmd := redis.NewCmd(ctx, a...)
	_ = s.proc.Process(ctx, noRetryCmd{cmd})
	return cmd
}

// runOnce runs a script once: EVALSHA, falling back to EVAL on NOSCRIPT
// (after a restart or failover the script cache is empty; NOSCRIPT means
// nothing ran, so the fallback cannot count twice).
func runOnce(ctx context.Context, cl redis.UniversalClient, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	return s.Run(ctx, onceScripter{Scripter: cl, proc: cl}, keys, args...)
}

// scriptCall is one script invocation of a pipelined batch.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// runBatch sends every call in one pipeline: one round trip on a single
// node; on a Cluster, go-redis splits it per node and sends the parts in
// parallel. Calls answered NOSCRIPT are sent again with EVAL, in a second
// pipeline (they did not run). Each call's result or error is in its cmd.
func runBatch(ctx context.Context, cl redis.UniversalClient, calls []scriptCall) {
	if len(calls) == 0 {
		return
	}
	pipeline(ctx, cl, calls, false)
	var again []int
	for i := range calls {
		if isNoScript(calls[i].cmd.Err()) {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return
	}
	retry := make([]scriptCall, len(again))
	for j, i := range again {
		retry[j] = calls[i]
	}
	pipeline(ctx, cl, retry, true)
	for j, i := range again {
		calls[i].cmd = retry[j].cmd
	}
}

func pipeline(ctx context.Context, cl redis.UniversalClient, calls []scriptCall, eval bool) {
	pipe := cl.Pipeline()
	for i := range calls {
		c := &calls[i]
		verb, script := "evalsha", c.script.Hash()
		if eval {
			verb, script = "eval", scriptSource[c.script]
		}
		a := make([]any, 0, 3+len(c.keys)+len(c.args))
		a = append(a, verb, script, len(c.keys))
		for _, k := range c.keys {
			a = append(a, k)
		}
		a = append(a, c.args...)
		c.cmd = redis.NewCmd(ctx, a...)
		_ = pipe.Process(ctx, noRetryCmd{c.cmd})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		for i := range calls {
			if c := calls[i].cmd; c.Err() == nil && c.Val() == nil {
				c.SetErr(err)
			}
		}
	}
}

// scriptSource maps each script to its source, for the EVAL fallback of a
// pipeline (redis.Script keeps its source private).
var scriptSource = map[*redis.Script]string{}

func newScript(src string) *redis.Script {
	s := redis.NewScript(src)
	scriptSource[s] = src
	return s
}
