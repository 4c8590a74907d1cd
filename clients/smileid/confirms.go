package smileid

import (
	"sync"
	"time"
)

// ConfirmEvery spaces the guard's own job-status calls: a job that has
// waited this long without a callback is asked about, then again after as
// long, up to the client's per-job confirmation budget.
const ConfirmEvery = 30 * time.Second

// The bookkeeping is bounded: at most maxConfirmEntries jobs, and an entry
// older than staleConfirm belongs to an abandoned job.
const (
	maxConfirmEntries = 10_000
	staleConfirm      = time.Hour
)

// Confirms remembers when each pending job was last asked about, so the
// step-up page's poll (the fallback for callbacks that cannot reach the
// guard) asks Smile ID sparingly. The zero value is ready; it lives with
// the pooled client, so it survives reloads.
type Confirms struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// Due reports whether the poll should ask Smile ID about a pending job,
// registered at registered, now, and records that it will.
func (c *Confirms) Due(job string, registered, now time.Time) bool {
	if now.Sub(registered) < ConfirmEvery {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	if last, ok := c.last[job]; ok && now.Sub(last) < ConfirmEvery {
		return false
	}
	if len(c.last) >= maxConfirmEntries {
		// Jobs abandoned while pending leave entries behind: drop the
		// stale ones (older than any pending job can live) first.
		for j, t := range c.last {
			if now.Sub(t) > staleConfirm {
				delete(c.last, j)
			}
		}
		if len(c.last) >= maxConfirmEntries {
			return false
		}
	}
	c.last[job] = now
	return true
}

// Forget drops a finished job's entry.
func (c *Confirms) Forget(job string) {
	c.mu.Lock()
	delete(c.last, job)
	c.mu.Unlock()
}
