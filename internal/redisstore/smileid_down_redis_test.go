//go:build redis

package redisstore

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/login-guard/login_guard/clients/smileid"
)

// TestSmileIDJobsStoreDown: with Redis gone, every method of the shared
// pending-jobs store that returns an error says the store did not answer
// (smileid.ErrStoreUnavailable), as smileid.Pending promises, so no
// caller takes an outage for an unknown job or a full registry alone.
// Register keeps ErrRegistryFull as well: the submission is refused as
// before.
func TestSmileIDJobsStoreDown(t *testing.T) {
	srv, cfg := single(t)
	cfg.Timeout = 300 * time.Millisecond
	j := NewSmileIDJobs(instance(t, cfg), time.Minute)
	if err := j.Register("job-1", "alice@example.org", "handle-1"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	err := j.Register("job-2", "bob@example.org", "handle-2")
	if !errors.Is(err, smileid.ErrStoreUnavailable) || !errors.Is(err, smileid.ErrRegistryFull) {
		t.Errorf("Register: %v, want the store unavailable (and the registry full)", err)
	}
	if _, err := j.Lookup("job-1"); !errors.Is(err, smileid.ErrStoreUnavailable) {
		t.Errorf("Lookup: %v", err)
	}
	if _, err := j.SeenCallback("job-1", sha256.Sum256([]byte("cb"))); !errors.Is(err, smileid.ErrStoreUnavailable) {
		t.Errorf("SeenCallback: %v", err)
	}
	if _, err := j.TakeConfirm("job-1", 2); !errors.Is(err, smileid.ErrStoreUnavailable) {
		t.Errorf("TakeConfirm: %v", err)
	}
	if _, _, err := j.Settle("job-1", smileid.StateAuthenticated, "0810", "Enroll User", "sj-1"); !errors.Is(err, smileid.ErrStoreUnavailable) {
		t.Errorf("Settle: %v", err)
	}
	if _, err := j.Complete("job-1"); !errors.Is(err, smileid.ErrStoreUnavailable) {
		t.Errorf("Complete: %v", err)
	}
	if st := j.Status("job-1"); st != smileid.StateUnknown {
		t.Errorf("Status: %s", st)
	}
}
