package redisstore

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrNotReady: the store is not started (or is stopped); nothing was
	// sent.
	ErrNotReady = errors.New("redis store: not started")
	// ErrBreakerOpen: recent calls failed and the breaker is open; nothing
	// was sent. It wraps ErrUnavailable.
	ErrBreakerOpen = &breakerOpenError{}
	// ErrUnavailable: Redis could not be reached or did not answer in
	// time, or is not serving. A counting call may or may not have counted.
	ErrUnavailable = errors.New("redis store unavailable")
	// ErrFull: Redis refused a write for want of memory (maxmemory with
	// noeviction): the caller's on_full policy applies.
	ErrFull = errors.New("redis store full (maxmemory reached)")
)

type breakerOpenError struct{}

func (*breakerOpenError) Error() string { return "redis store unavailable: breaker open" }
func (*breakerOpenError) Unwrap() error { return ErrUnavailable }

// isOOM reports a Redis out-of-memory refusal.
func isOOM(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "OOM ")
}

// isNoScript reports that EVALSHA found no script: it did not run.
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// isOutage reports whether err means Redis itself failed (as opposed to
// answering: a refusal, a script error, or the caller giving up). The
// breaker counts these.
func (c *Conn) isOutage(caller context.Context, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || isOOM(err) || isNoScript(err) {
		return false
	}
	if caller.Err() != nil {
		// The request went away; that says nothing about Redis.
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		// Redis answered. Only the answers that mean "not serving now"
		// count as an outage.
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "TRYAGAIN", "BUSY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}
