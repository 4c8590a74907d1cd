package redisstore

import (
	"context"
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

// pendingRevocations are the logouts Redis did not take (an outage; at
// maxmemory it still takes them, see revokeScript), kept by the instance
// that served them. It refuses their
// cookies itself at once, and sends them again every revokeRetryEvery
// until Redis takes them or the cookies expire, so a logout during an
// outage is not forgotten once Redis is back. What it still holds when
// the connection closes (a stop, or a reload to another store block)
// Close hands on to be saved for the next start (HandOffKept), or logs as
// lost.
type pendingRevocations struct {
	mu      sync.Mutex
	until   map[string]time.Time // session id -> its cookie's expiry
	n       atomic.Int32         // len(until): the session check's fast path
	running bool                 // the retry goroutine runs
	taken   bool                 // Close took what was kept: keep no more
}

// keep holds id until until and starts the retries; false when the
// bound is reached and id was not kept, or the connection is closing.
func (p *pendingRevocations) keep(s *RevokeSet, id string, until time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken {
		return false
	}
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
			p.mu.Unlock()
			return
		case <-t.C:
		}
		// Turn after turn while Redis takes them, so a long outage's
		// logouts go out at once when it ends.
		sent := 0
		for p.n.Load() > 0 {
			n, failed := p.send(s)
			sent += n
			if failed || n == 0 {
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

// sendEach is the most kept logouts one turn sends.
const sendEach = 64

// send tries up to sendEach kept logouts, in the map's (random) order,
// and stops at the first Redis does not take: a Redis still down costs a
// turn one failed call, so the retries alone never open the connection's
// breaker (three failures in a row) while other calls succeed, as they
// do on a Cluster with one shard down, where the next turns, in another
// order, send the other shards' logouts. Expired ones are dropped. It
// returns how many Redis took, and whether one failed.
func (p *pendingRevocations) send(s *RevokeSet) (sent int, failed bool) {
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
	for _, k := range turn[:n] {
		if ttl := k.until.Sub(now); ttl > 0 {
			if err := s.record(context.Background(), k.id, ttl); err != nil {
				return sent, true
			}
			sent++
		}
		p.mu.Lock()
		if until, ok := p.until[k.id]; ok && until.Equal(k.until) {
			delete(p.until, k.id)
		}
		p.n.Store(int32(len(p.until)))
		p.mu.Unlock()
	}
	return sent, false
}

// KeptLogout is a logout Redis did not take, as a closing connection
// hands it on (see Conn.HandOffKept) and a starting one takes it back
// (RevokeSet.Restore): the session id and its cookie's expiry.
type KeptLogout struct {
	ID    string    `json:"id"`
	Until time.Time `json:"until"`
}

// take removes and returns the kept logouts whose cookies have not
// expired by now, for Close to hand on; nothing is kept after it, so no
// logout is left behind unhanded.
func (p *pendingRevocations) take(now time.Time) []KeptLogout {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.taken = true
	var out []KeptLogout
	for id, until := range p.until {
		if now.Before(until) {
			out = append(out, KeptLogout{ID: id, Until: until})
		}
	}
	clear(p.until)
	p.n.Store(0)
	return out
}
