package caddymodule

import (
	"testing"
	"time"
)

// TestSelfieShares: a client gets its share of submissions in flight and
// of pending jobs, then is refused; other clients are not affected, and
// a finished or stale job frees the share.
func TestSelfieShares(t *testing.T) {
	var s selfieShares
	now := time.Now()
	const ttl = time.Minute
	if full := s.begin("a", 2, 2, ttl, now); full != "" {
		t.Fatal(full)
	}
	if full := s.begin("a", 2, 2, ttl, now); full != "" {
		t.Fatal(full)
	}
	if full := s.begin("a", 2, 2, ttl, now); full != "submissions" {
		t.Fatalf("third concurrent submission: %q", full)
	}
	if full := s.begin("b", 2, 2, ttl, now); full != "" {
		t.Fatalf("another client: %q", full)
	}
	s.end("b", "", now)
	s.end("a", "job1", now)
	s.end("a", "job2", now)
	if full := s.begin("a", 2, 2, ttl, now); full != "pending" {
		t.Fatalf("with two jobs pending: %q", full)
	}
	s.done("job1")
	if full := s.begin("a", 2, 2, ttl, now); full != "" {
		t.Fatalf("after a job finished: %q", full)
	}
	s.end("a", "job3", now)
	if full := s.begin("a", 2, 2, ttl, now.Add(2*ttl)); full != "" {
		t.Fatalf("stale jobs free the share: %q", full)
	}
	s.end("a", "", now)
	if len(s.jobs) != 0 || len(s.pending) != 0 || len(s.inflight) != 0 {
		t.Fatalf("bookkeeping left behind: %v %v %v", s.jobs, s.pending, s.inflight)
	}
}
