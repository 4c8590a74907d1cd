//go:build redis

package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/stepup"
)

// TestSpentSetReportsAnOutage: the shared spent set tells a Redis it
// could not ask (hanging, then down) from a spent token: Seen says true
// with an error wrapping stepup.ErrStoreUnavailable, Mark fails so too,
// and so does the refused-factor count. Redis out of memory is the set
// full (ErrFull), not an outage. Once Redis answers, the token is spent
// once: by the Mark the hang held up, or by the next.
func TestSpentSetReportsAnOutage(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	c := instance(t, cfg)
	s, failures := NewSpentSet(c, "stepup"), NewFailureCounter(c)
	now := time.Now()
	if ok, err := s.Mark("state:spent", now.Add(time.Minute), now); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}

	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mark("state:fresh", now.Add(time.Minute), now); !errors.Is(err, ErrFull) || errors.Is(err, stepup.ErrStoreUnavailable) {
		t.Fatalf("mark at maxmemory: %v, want full", err)
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "0"); err != nil {
		t.Fatal(err)
	}

	outage := func(what string) {
		t.Helper()
		if seen, err := s.Seen("state:fresh", now); !seen || !errors.Is(err, stepup.ErrStoreUnavailable) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("seen, Redis %s: %v %v; want true and the store unavailable", what, seen, err)
		}
		if ok, err := s.Mark("state:fresh", now.Add(time.Minute), now); ok || !errors.Is(err, stepup.ErrStoreUnavailable) {
			t.Fatalf("mark, Redis %s: %v %v; want the store unavailable", what, ok, err)
		}
		if _, err := failures.Count("state:fresh", now); !errors.Is(err, stepup.ErrStoreUnavailable) {
			t.Fatalf("failure count, Redis %s: %v; want the store unavailable", what, err)
		}
	}

	srv.Pause()
	outage("hanging")
	srv.Resume()
	// A Mark sent to the hanging Redis runs once it resumes (its caller
	// gave up on the answer): the token reads as spent then, never fresh
	// twice.
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen, err := s.Seen("state:fresh", now)
		if err == nil {
			if !seen {
				if ok, err := s.Mark("state:fresh", now.Add(time.Minute), now); !ok || err != nil {
					t.Fatalf("mark once Redis answers: %v %v", ok, err)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis never answered again: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ok, err := s.Mark("state:fresh", now.Add(time.Minute), now); ok || err != nil {
		t.Fatalf("a token spent again: %v %v", ok, err)
	}
	if seen, err := s.Seen("state:spent", now); !seen || err != nil {
		t.Fatalf("the spent token after the hang: %v %v", seen, err)
	}

	srv.Stop()
	outage("down")
}
