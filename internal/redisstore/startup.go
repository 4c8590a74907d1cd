package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// RetryStartEvery is how often a Conn that could not reach Redis when it
// started checks and binds again.
const RetryStartEvery = breakerCoolDown

// Start checks Redis and binds the Conn to the guard's key material
// (Check, then Bind). Redis being unreachable does not fail it: Caddy
// starts (a Redis outage must not keep every site down, nor refuse a
// reload of an unrelated one), calls fail with ErrNotReady meanwhile, so
// each route's on_store_failure applies, and a goroutine checks and binds
// again every RetryStartEvery until it succeeds or the Conn is closed;
// reachable is then false. What Redis answers (a maxmemory-policy other
// than noeviction, another deployment's fingerprint, an ACL refusing
// CONFIG GET) is returned as an error: a config to fix, not an outage to
// wait out. Open must have been called.
func (c *Conn) Start(fingerprint string, secret []byte) (reachable bool, err error) {
	// One check-and-bind at a time, so the retry of an older start cannot
	// bind its key material over a newer one's.
	c.bindMu.Lock()
	defer c.bindMu.Unlock()
	err = c.checkAndBind(fingerprint, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		// This start settles it: an earlier one still pending (a config
		// that started while Redis was away) must not bind its key
		// material over this one's later.
		c.pending = nil
		return true, nil
	}
	if !unreachable(err) {
		// Refused (its config may not run): a start still pending for a
		// config that does run keeps being retried.
		return false, err
	}
	if c.closed {
		return false, errors.New("redis store: closed")
	}
	c.pending = &pendingStart{fingerprint: fingerprint, secret: secret}
	if !c.retrying {
		c.retrying = true
		go c.retryStart()
	}
	return false, nil
}

// pendingStart is what a Start that could not reach Redis still has to
// bind.
type pendingStart struct {
	fingerprint string
	secret      []byte
}

func (c *Conn) checkAndBind(fingerprint string, secret []byte) error {
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		return err
	}
	return c.Bind(ctx, fingerprint, secret)
}

// retryStart checks and binds the latest pending Start until it succeeds
// or the Conn closes. A refusal is logged when it first appears (and again
// if it changes), not every retry.
func (c *Conn) retryStart() {
	t := time.NewTicker(RetryStartEvery)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		c.bindMu.Lock()
		c.mu.Lock()
		p := c.pending
		if p == nil || c.closed {
			c.retrying = false
			c.mu.Unlock()
			c.bindMu.Unlock()
			return
		}
		c.mu.Unlock()
		err := c.checkAndBind(p.fingerprint, p.secret)
		c.mu.Lock()
		bound := err == nil && !c.closed
		if bound {
			c.pending, c.retrying = nil, false
		}
		c.mu.Unlock()
		c.bindMu.Unlock()
		if bound {
			c.logger.Warn("redis store reachable: guard state is shared from now on", zap.Strings("addresses", c.cfg.Addresses))
			return
		}
		if err != nil && !unreachable(err) && err.Error() != last {
			last = err.Error()
			c.logger.Error("redis store answered but cannot be used; routes keep applying on_store_failure", zap.Error(err))
		}
	}
}

// unreachable reports whether a start-up check failed for want of Redis
// (no connection, no answer in time, a "not serving now" reply, or no
// memory to record a new deployment's fingerprint) rather than on what
// Redis answered.
func unreachable(err error) bool {
	var oom redis.Error
	if errors.As(err, &oom) && isOOM(oom) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "TRYAGAIN", "BUSY"} {
			if strings.HasPrefix(rerr.Error(), p) {
				return true
			}
		}
	}
	return false
}
