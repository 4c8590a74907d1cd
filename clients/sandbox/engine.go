package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// ErrSandbox is what the error test data returns: an engine failure, so
// the route's on_engine_failure policy applies.
var ErrSandbox = errors.New("sandbox: simulated engine failure")

// Defaults.
const (
	DefaultName      = "sandbox"
	DefaultSlowDelay = 10 * time.Second
)

// MaxSlowDelay bounds the SlowDelay a Caddy config may give (the
// slow_delay option): longer than any route's deadline is long enough.
const MaxSlowDelay = time.Minute

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	// Name is the engine's name in reasons, metrics and correlations
	// (default "sandbox").
	Name string
	// SlowDelay is how long the slow test data waits before allowing, if
	// the context does not end first (default 10s).
	SlowDelay time.Duration
	// Wait waits d or until ctx ends (then returning ctx.Err()). Tests
	// replace it; the default uses a timer.
	Wait func(ctx context.Context, d time.Duration) error
}

// Engine is the sandbox engine. It implements rules.Engine and is safe for
// concurrent use.
type Engine struct {
	name  string
	delay time.Duration
	wait  func(ctx context.Context, d time.Duration) error
}

// New returns a sandbox engine.
func New(cfg Config) *Engine {
	e := &Engine{name: cfg.Name, delay: cfg.SlowDelay, wait: cfg.Wait}
	if e.name == "" {
		e.name = DefaultName
	}
	if e.delay <= 0 {
		e.delay = DefaultSlowDelay
	}
	if e.wait == nil {
		e.wait = waitTimer
	}
	return e
}

// Name is the configured name.
func (e *Engine) Name() string { return e.name }

// Decide answers from the test table (see the package doc).
func (e *Engine) Decide(ctx context.Context, a *rules.Attempt) (rules.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return rules.Verdict{}, err
	}
	b, matched := Lookup(a.User, a.IP)
	var v rules.Verdict
	switch b {
	case BehaviorError:
		return rules.Verdict{}, ErrSandbox
	case BehaviorSlow:
		if err := e.wait(ctx, e.delay); err != nil {
			return rules.Verdict{}, err
		}
		v.Score = ScoreDefault
	case BehaviorChallenge:
		v.Add(rules.Challenge, rules.ReasonEngineChallenge)
		v.Score = ScoreChallenge
	case BehaviorDeny:
		v.Add(rules.Deny, rules.ReasonEngineDecline)
		v.Score = ScoreDeny
	default:
		v.Score = ScoreAllow
		if !matched {
			v.Score = ScoreDefault
		}
	}
	v.HasScore = true
	v.Correlations = []rules.Correlation{{Engine: e.name, ID: CorrelationID(a)}}
	return v, nil
}

// CorrelationID is the id the sandbox gives an attempt: a hash of its
// route, user, IP and time, so the same attempt always gets the same id.
func CorrelationID(a *rules.Attempt) string {
	h := fnv.New64a()
	for _, s := range []string{a.Route, a.User, a.IP.String()} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(a.Time.UnixNano()))
	h.Write(ts[:])
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h.Sum64())
	return "sbx-" + hex.EncodeToString(sum[:])
}

func waitTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
