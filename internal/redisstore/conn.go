package redisstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"
)

// Conn is one Redis deployment as the guard uses it. Build it with New
// (no I/O, no goroutine: safe in a config check), connect with Open, then
// Bind it to the guard's key material; until then every call fails with
// ErrNotReady. Safe for concurrent use.
type Conn struct {
	cfg    Config
	logger *zap.Logger

	mu     sync.RWMutex
	client redis.UniversalClient // nil until Open, and after Close
	closed bool

	keys atomic.Pointer[keyer] // nil until Bind

	// pending and retrying: a Start that could not reach Redis, retried
	// by one goroutine until done closes (see Start); under mu. bindMu
	// orders Start's and the retry's check-and-bind.
	pending  *pendingStart
	retrying bool
	done     chan struct{} // closed by Close
	bindMu   sync.Mutex

	br      *breaker
	stats   connStats
	combine combiner           // concurrent requests' counting round trips
	settle  settler            // deferred lockout settlements (see Counter.Defer)
	revokes pendingRevocations // logouts Redis did not take (see RevokeSet)
	// handOff takes what revokes still holds at Close (see HandOffKept);
	// under mu.
	handOff *HandOff
}

// HandOff takes the logouts a closing connection kept and could not
// send (see Conn.HandOffKept). A pointer, so a config can give back its
// own, and only its own, when it ends.
type HandOff struct {
	Take func([]KeptLogout) error
}

// connStats are the counters behind Stats.
type connStats struct {
	calls, failures, refusedOpen, outOfMemory atomic.Uint64
}

// Stats are a Conn's running totals, for metrics.
type Stats struct {
	// Calls counts round trips attempted (a batch is one).
	Calls uint64
	// Failures counts calls that failed for want of Redis: unreachable,
	// timed out, or not serving (LOADING, CLUSTERDOWN, READONLY...).
	Failures uint64
	// RefusedOpen counts calls not made because the breaker was open.
	RefusedOpen uint64
	// OutOfMemory counts writes Redis refused with OOM (maxmemory).
	OutOfMemory uint64
	// BreakerOpen is true while calls are refused without trying.
	BreakerOpen bool
	// SettlementsQueued counts lockout settlements waiting to be sent
	// (see Counter.Defer).
	SettlementsQueued int
	// LogoutsKept counts logouts Redis did not take, kept by this
	// instance and sent again (see RevokeSet).
	LogoutsKept int
}

// New checks cfg and builds a Conn without connecting. logger hears the
// breaker opening and closing (nil: silent).
func New(cfg Config, logger *zap.Logger) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	c := &Conn{cfg: cfg, logger: logger, done: make(chan struct{})}
	c.combine.wait = cfg.Timeout
	c.br = newBreaker(breakerThreshold, breakerCoolDown, c.breakerChanged)
	return c, nil
}

// Config returns the checked config.
func (c *Conn) Config() Config { return c.cfg }

// Open creates the go-redis client (its pools start here). It does not
// wait for Redis; Check does. Calling it again does nothing.
func (c *Conn) Open() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("redis store: closed")
	}
	if c.client != nil {
		return nil
	}
	var tc *tls.Config
	if t := c.cfg.TLS; t != nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return fmt.Errorf("redis store: tls ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("redis store: tls ca_file %s holds no PEM certificate", t.CAFile)
			}
		}
	}
	cfg := &c.cfg
	to := cfg.Timeout
	// MaxRetries -1: no command is ever resent by the client; a counting
	// script resent after a lost reply would count twice. Every socket
	// operation is bounded by the call's context (ContextTimeoutEnabled)
	// and by the same timeout.
	noMaint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	switch cfg.Mode {
	case ModeSingle:
		c.client = redis.NewClient(&redis.Options{
			Addr: cfg.Addresses[0], Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			TLSConfig: tc, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: cfg.PoolSize,
			DisableIdentity: true, MaintNotificationsConfig: noMaint,
		})
	case ModeSentinel:
		c.client = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addresses, SentinelPassword: cfg.SentinelPassword,
			Username: cfg.Username, Password: cfg.Password, DB: cfg.DB,
			TLSConfig: tc, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: cfg.PoolSize,
			DisableIdentity: true,
		})
	case ModeCluster:
		// Redirects (MOVED, ASK) are followed: they mean the command did
		// not run. Network errors are not retried (see noRetryCmd).
		c.client = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.Addresses, Username: cfg.Username, Password: cfg.Password,
			TLSConfig: tc, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			ContextTimeoutEnabled: true, MaxRetries: -1, MaxRedirects: 3, PoolSize: cfg.PoolSize,
			DisableIdentity: true, MaintNotificationsConfig: noMaint,
		})
	}
	return nil
}

// HandOffKept sets where Close gives the logouts Redis never took, so
// they can be sent by another config or saved for the next start (see
// RevokeSet.Restore), and returns the one it replaces. Without one, or
// where it fails, Close logs them as lost.
func (c *Conn) HandOffKept(h *HandOff) (previous *HandOff) {
	c.mu.Lock()
	defer c.mu.Unlock()
	previous, c.handOff = c.handOff, h
	return previous
}

// GiveBackHandOff puts previous back in place of own, if own is still the
// hand-off: a config that ends while an older one still runs (a reload
// that failed) leaves the older one's in place, not its own.
func (c *Conn) GiveBackHandOff(own, previous *HandOff) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handOff == own {
		c.handOff = previous
	}
}

// Close sends the settlements still queued (waiting at most twice the
// call timeout), hands on the logouts it kept and could not send (or logs
// them as lost), then closes the client; calls fail with ErrNotReady
// afterwards.
func (c *Conn) Close() error {
	c.settle.drain(2 * c.cfg.Timeout)
	c.mu.Lock()
	handOff := c.handOff
	c.mu.Unlock()
	if kept := c.revokes.take(time.Now()); len(kept) > 0 {
		var err error
		if handOff != nil {
			err = handOff.Take(kept)
		}
		switch {
		case handOff != nil && err == nil:
			c.logger.Info("redis store closed with logouts it never took: handed on to be sent",
				zap.Int("logouts", len(kept)))
		default:
			c.logger.Warn("redis store closed with logouts it never took: their cookies are sessions again once redis answers",
				zap.Int("logouts", len(kept)), zap.Error(err))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		close(c.done)
	}
	c.closed = true
	if c.client == nil {
		return nil
	}
	err := c.client.Close()
	c.client = nil
	return err
}

// Stats returns the running totals.
func (c *Conn) Stats() Stats {
	return Stats{
		Calls:       c.stats.calls.Load(),
		Failures:    c.stats.failures.Load(),
		RefusedOpen: c.stats.refusedOpen.Load(),
		OutOfMemory: c.stats.outOfMemory.Load(),
		BreakerOpen: c.br.isOpen(),

		SettlementsQueued: c.settle.waiting(),
		LogoutsKept:       int(c.revokes.n.Load()),
	}
}

func (c *Conn) breakerChanged(open bool) {
	if open {
		c.logger.Error("redis store unreachable: calls fail at once (each route's on_store_failure applies; replay and one-time checks refuse) until a probe succeeds",
			zap.Strings("addresses", c.cfg.Addresses), zap.Duration("retry_in", breakerCoolDown))
		return
	}
	c.logger.Warn("redis store reachable again", zap.Strings("addresses", c.cfg.Addresses))
}

// opened returns the client, or ErrNotReady before Open and after Close.
func (c *Conn) opened() (redis.UniversalClient, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.client == nil {
		return nil, ErrNotReady
	}
	return c.client, nil
}

// ready returns the client and key builder, or ErrNotReady.
func (c *Conn) ready() (redis.UniversalClient, *keyer, error) {
	k := c.keys.Load()
	c.mu.RLock()
	cl := c.client
	c.mu.RUnlock()
	if cl == nil || k == nil {
		return nil, nil, ErrNotReady
	}
	return cl, k, nil
}

// call runs one round trip: breaker admission, the per-call deadline,
// and the accounting of its outcome. fn's error is returned as is unless
// it is a failure of Redis itself, which is wrapped in ErrUnavailable.
func (c *Conn) call(ctx context.Context, fn func(ctx context.Context, cl redis.UniversalClient, k *keyer) error) error {
	return c.callFor(ctx, 1, fn)
}

// callFor is call for a round trip that requests requests wait for (see
// combiner): its failure counts once for each towards opening the
// breaker, as their separate round trips would have.
func (c *Conn) callFor(ctx context.Context, requests int, fn func(ctx context.Context, cl redis.UniversalClient, k *keyer) error) error {
	cl, k, err := c.ready()
	if err != nil {
		return err
	}
	probe, ok := c.br.allow()
	if !ok {
		c.stats.refusedOpen.Add(1)
		return ErrBreakerOpen
	}
	c.stats.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	err = fn(cctx, cl, k)
	cancel()
	failed := c.isOutage(ctx, err)
	if err != nil && ctx.Err() != nil {
		c.br.abandon(probe)
	} else {
		c.br.record(probe, failed)
		if failed && !probe {
			for range requests - 1 {
				c.br.record(false, true)
			}
		}
	}
	switch {
	case failed:
		c.stats.failures.Add(1)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case isOOM(err):
		c.stats.outOfMemory.Add(1)
	}
	return err
}
