package smileid

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

func newTestRegistry(t *testing.T, max int) (*Registry, *testClock) {
	t.Helper()
	clk := clock.New(t0)
	r, err := NewRegistry(max, time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func TestRegistryLifecycle(t *testing.T) {
	r, clk := newTestRegistry(t, 4)
	if err := r.Register("j1", "u1", "h1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("j1", "u2", "h2"); !errors.Is(err, ErrDuplicateJob) {
		t.Fatalf("duplicate err = %v", err)
	}
	e, err := r.Lookup("j1")
	if err != nil || e.UserID != "u1" || e.StateHandle != "h1" || e.State != StatePending || !e.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Lookup = %+v %v", e, err)
	}
	if _, err := r.Lookup("j2"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("Lookup of an unknown job: %v", err)
	}
	if _, err := r.Complete("j1"); !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("Complete pending err = %v", err)
	}
	if _, changed, _ := r.Settle("j1", StateAuthenticated, "1220", "Authenticated", "7"); !changed {
		t.Fatal("settle did not change a pending job")
	}
	if _, changed, _ := r.Settle("j1", StateRejected, "0821", "", ""); changed {
		t.Fatal("settle changed a terminal job")
	}
	if st := r.Status("j1"); st != StateAuthenticated {
		t.Fatalf("Status = %s", st)
	}
	e, err = r.Complete("j1")
	if err != nil || e.ResultCode != "1220" || e.SmileJobID != "7" {
		t.Fatalf("Complete = %+v %v", e, err)
	}
	if st := r.Status("j1"); st != StateUnknown {
		t.Fatalf("Status after Complete = %s", st)
	}
	if _, err := r.Complete("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("Complete unknown err = %v", err)
	}
	// Expiry.
	r.Register("j2", "u", "")
	clk.Advance(time.Minute - time.Nanosecond)
	if r.Status("j2") != StatePending {
		t.Fatal("expired early")
	}
	clk.Advance(time.Nanosecond)
	if r.Status("j2") != StateUnknown {
		t.Fatal("not expired at ExpiresAt")
	}
}

func TestRegistryBounded(t *testing.T) {
	r, clk := newTestRegistry(t, 3)
	for i := 0; i < 3; i++ {
		if err := r.Register(fmt.Sprint("j", i), "u", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register("j3", "u", ""); !errors.Is(err, ErrRegistryFull) {
		t.Fatalf("err = %v, want ErrRegistryFull", err)
	}
	if r.Status("j0") != StatePending {
		t.Fatal("a live entry was evicted")
	}
	clk.Advance(time.Minute)
	if err := r.Register("j3", "u", ""); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := r.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (expired swept)", n)
	}
}

func TestRegistryOrderStaysBounded(t *testing.T) {
	// Register and Complete far more jobs than max within one TTL: the
	// expiry order must not grow with them.
	r, _ := newTestRegistry(t, 4)
	r.Register("keeper", "u", "") // stays live at the front
	for i := 0; i < 1000; i++ {
		id := fmt.Sprint("j", i)
		if err := r.Register(id, "u", ""); err != nil {
			t.Fatal(err)
		}
		r.Settle(id, StateAuthenticated, "1220", "", "")
		if _, err := r.Complete(id); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	n := len(r.order) - r.head
	r.mu.Unlock()
	if n > 2*4+1 {
		t.Fatalf("order holds %d ids for max 4", n)
	}
	if r.Status("keeper") != StatePending {
		t.Fatal("compaction lost a live job")
	}
}

func TestRegistryFieldCaps(t *testing.T) {
	r, _ := newTestRegistry(t, 4)
	for _, tt := range []struct{ job, user, handle string }{
		{"", "u", ""},
		{"j", "", ""},
		{strings.Repeat("j", maxJobIDLen+1), "u", ""},
		{"j", strings.Repeat("u", MaxUserIDLen+1), ""},
		{"j", "u", strings.Repeat("h", MaxStateHandleLen+1)},
	} {
		if err := r.Register(tt.job, tt.user, tt.handle); !errors.Is(err, ErrInput) {
			t.Errorf("Register(%d, %d, %d bytes) err = %v", len(tt.job), len(tt.user), len(tt.handle), err)
		}
	}
	if _, err := NewRegistry(0, time.Minute, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("NewRegistry(0) err = %v", err)
	}
}

func TestRegistryRemembersLastCallbacks(t *testing.T) {
	r, _ := newTestRegistry(t, 4)
	r.Register("j", "u", "")
	d := func(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	for i := 0; i < seenCallbacks+1; i++ {
		r.MarkCallback("j", d(i))
	}
	if seen, err := r.SeenCallback("j", d(0)); seen || err != nil {
		t.Error("oldest digest not forgotten")
	}
	for i := 1; i <= seenCallbacks; i++ {
		if seen, _ := r.SeenCallback("j", d(i)); !seen {
			t.Errorf("digest %d forgotten", i)
		}
	}
}
