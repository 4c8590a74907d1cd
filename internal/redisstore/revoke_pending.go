package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// maxPendingRevocations bounds the logouts one instance keeps for a Redis
// that did not take them.
const maxPendingRevocations = 100_000

// revokeRetryEvery is how often kept logouts are sent again.
const revokeRetryEvery = time.Second

// pendingRevocations are the logouts Redis did not take (an outage, or
// maxmemory), kept by the instance that served them. It refuses their
// cookies itself at once, and sends them again every revokeRetryEvery
// until Redis takes them or the cookies expire, so a logout during an
// outage is not forgotten once Redis is back. What it still holds when
// the connection closes (a stop) is lost; the log says how many.
type pendingRevocations struct {
	mu      sync.Mutex
	until   map[string]time.Time // session id -> its cookie's expiry
	n       atomic.Int32         // len(until): the session check's fast path
	running bool                 // the retry goroutine runs
}

// keep holds id until until and starts the retries; false when the
// bound is reached and id was not kept.
func (p *pendingRevocations) keep(s *RevokeSet, id string, until time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.until[id]; !ok && len(p.until) >= maxPendingRevocations {
		return false
	}
	if p.until == nil {
		p.until = map[string]time.Time{}
	}
	// A copy: the id may point into a larger buffer (the session cache's
	// text) that would otherwise stay alive with it.
	p.until[strings.Clone(id)] = until
	p.n.Store(int32(len(p.until)))
	if !p.running {
		p.running = true
		go p.retry(s)
	}
	return true
}

// has reports whether id is kept and its cookie has not expired.
func (p *pendingRevocations) has(id string, now time.Time) bool {
	if p.n.Load() == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.until[id]
	return ok && now.Before(until)
}

// retry sends the kept logouts every revokeRetryEvery until none is left
// or the connection closes.
func (p *pendingRevocations) retry(s *RevokeSet) {
	c := s.once.c
	t := time.NewTicker(revokeRetryEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			p.mu.Lock()
			p.running = false
			n := len(p.until)
			p.mu.Unlock()
			if n > 0 {
				c.logger.Warn("redis store closed with logouts it never took: their cookies are refused no more",
					zap.Int("logouts", n))
			}
			return
		case <-t.C:
		}
		// Turn after turn while Redis takes them, so a long outage's
		// logouts go out at once when it ends.
		sent := 0
		for p.n.Load() > 0 {
			n, gaveUp := p.send(s)
			sent += n
			if gaveUp || n == 0 {
				break
			}
		}
		if sent > 0 {
			c.logger.Info("logouts kept through a redis outage sent", zap.Int("logouts", sent))
		}
		p.mu.Lock()
		if len(p.until) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// sendEach is the most kept logouts one turn sends, and sendGiveUp how
// many failures in a row end a turn (Redis is still down: the rest waits
// for the next). A turn that meets one failed shard of a Cluster goes on
// to the others' logouts.
const (
	sendEach   = 64
	sendGiveUp = 3
)

// send tries up to sendEach kept logouts once each and returns how many
// Redis took, and whether it gave up (sendGiveUp failures in a row).
// Expired ones are dropped.
func (p *pendingRevocations) send(s *RevokeSet) (sent int, gaveUp bool) {
	type kept struct {
		id    string
		until time.Time
	}
	var turn [sendEach]kept
	n := 0
	p.mu.Lock()
	for id, until := range p.until {
		if n == len(turn) {
			break
		}
		turn[n] = kept{id, until}
		n++
	}
	p.mu.Unlock()
	now := time.Now()
	failures := 0
	for _, k := range turn[:n] {
		if ttl := k.until.Sub(now); ttl > 0 {
			err := s.once.Remember(context.Background(), []byte(k.id), ttl)
			if err != nil && !errors.Is(err, ErrSeen) {
				if failures++; failures == sendGiveUp {
					return sent, true
				}
				continue
			}
			failures = 0
			sent++
		}
		p.mu.Lock()
		if p.until[k.id] == k.until {
			delete(p.until, k.id)
		}
		p.n.Store(int32(len(p.until)))
		p.mu.Unlock()
	}
	return sent, false
}
