package caddymodule

import (
	"sync"
	"time"
)

// selfieShares keeps one client (address prefix) to its share of the
// selfie work in flight: submissions being read and sent (each up to
// ~11 MiB) and Smile ID jobs awaiting their result. A client over its
// share is refused; nobody else's submission or job is dropped for it.
// It lives with the pooled Smile ID client, so it survives reloads.
type selfieShares struct {
	mu       sync.Mutex
	inflight map[string]int
	pending  map[string]map[string]time.Time // client → job → submitted
	jobs     map[string]string               // job → client
}

// begin admits one submission for client, or says which share is full
// ("submissions" or "pending"). end must follow an admitted begin.
func (s *selfieShares) begin(client string, maxInflight, maxPending int, pendingTTL time.Duration, now time.Time) (full string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		s.inflight, s.pending, s.jobs = map[string]int{}, map[string]map[string]time.Time{}, map[string]string{}
	}
	for job, at := range s.pending[client] {
		if now.Sub(at) > pendingTTL {
			s.dropLocked(job)
		}
	}
	switch {
	case s.inflight[client] >= maxInflight:
		return "submissions"
	case len(s.pending[client]) >= maxPending:
		return "pending"
	}
	s.inflight[client]++
	return ""
}

// end releases a submission; job, when not empty, is now pending for
// client.
func (s *selfieShares) end(client, job string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[client]--; s.inflight[client] <= 0 {
		delete(s.inflight, client)
	}
	if job == "" {
		return
	}
	if s.pending[client] == nil {
		s.pending[client] = map[string]time.Time{}
	}
	s.pending[client][job] = now
	s.jobs[job] = client
}

// done forgets a job that reached its result.
func (s *selfieShares) done(job string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(job)
}

func (s *selfieShares) dropLocked(job string) {
	client, ok := s.jobs[job]
	if !ok {
		return
	}
	delete(s.jobs, job)
	delete(s.pending[client], job)
	if len(s.pending[client]) == 0 {
		delete(s.pending, client)
	}
}
