package stepup

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

var errDown = fmt.Errorf("%w: connection refused", ErrStoreUnavailable)

// downSet is a shared spent set whose store can be taken down: meanwhile
// Seen and Mark fail with ErrStoreUnavailable (Seen saying true, as a
// SpentSet must). markDown: only Mark fails so (the store went down
// between the check and the spending). lostMark: a Mark fails so after
// recording the token (a reply lost on the way back).
type downSet struct {
	*UsedSet
	down, markDown, lostMark bool
}

func (s *downSet) Seen(id string, now time.Time) (bool, error) {
	if s.down {
		return true, errDown
	}
	return s.UsedSet.Seen(id, now)
}

func (s *downSet) Mark(id string, expires, now time.Time) (bool, error) {
	if s.lostMark {
		_, _ = s.UsedSet.Mark(id, expires, now)
		return false, errDown
	}
	if s.down || s.markDown {
		return false, errDown
	}
	return s.UsedSet.Mark(id, expires, now)
}

// downCounter is a shared refused-factor counter whose store is down.
type downCounter struct{ *FailureSet }

func (downCounter) Count(string, time.Time) (int, error) { return 0, errDown }

// TestSpentSetDownIsNoReplay: a token whose spent set cannot be asked is
// refused as store_unavailable, never as replayed, and is not spent: once
// the store answers, the same token is used, once, and then refused as
// replayed. A mismatched client is told its own reason, not to come again.
func TestSpentSetDownIsNoReplay(t *testing.T) {
	clk := newClock()
	used := &downSet{UsedSet: NewUsedSet(0)}
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Used: used, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	held := NewHeld(HeldConfig{Now: clk.Now})
	tok, _ := mustIssue(t, is, heldChallenge(t, held, alice))

	// The state: checked by the page (Verify) and the completion (Redeem).
	used.down = true
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonStoreUnavailable)
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonStoreUnavailable)
	elsewhere := alice
	elsewhere.IP = netip.MustParseAddr("198.51.100.1")
	_, err = is.Verify(tok, elsewhere)
	wantReason(t, err, ReasonIPMismatch)
	used.down = false
	st, err := is.Redeem(tok, alice)
	if err != nil {
		t.Fatalf("the state once the store answers: %v", err)
	}

	// The continuation: the store down at its check (Seen), then at its
	// spending (Mark).
	cont, err := is.IssueContinuation(st)
	if err != nil {
		t.Fatal(err)
	}
	used.down = true
	_, err = is.ConsumeContinuation(cont, alice, nil)
	wantReason(t, err, ReasonStoreUnavailable)
	used.down, used.markDown = false, true
	_, err = is.ConsumeContinuation(cont, alice, nil)
	wantReason(t, err, ReasonStoreUnavailable)
	used.markDown = false

	if got, err := is.ConsumeContinuation(cont, alice, nil); err != nil || got.Handle != st.Handle {
		t.Fatalf("the continuation once the store answers: %+v %v", got, err)
	}
	_, err = is.ConsumeContinuation(cont, alice, nil)
	wantReason(t, err, ReasonReplayed)

	// A pass likewise.
	pass, err := is.IssuePass(st)
	if err != nil {
		t.Fatal(err)
	}
	used.down = true
	_, err = is.ConsumePass(pass, alice, nil)
	wantReason(t, err, ReasonStoreUnavailable)
	used.down = false
	if _, err := is.ConsumePass(pass, alice, nil); err != nil {
		t.Fatalf("the pass once the store answers: %v", err)
	}
	_, err = is.ConsumePass(pass, alice, nil)
	wantReason(t, err, ReasonReplayed)
}

// TestSpentSetLostMarkFailsClosed: a Mark whose answer was lost after
// the store recorded it is refused as unavailable; the token sent again
// reads as spent. It is never used.
func TestSpentSetLostMarkFailsClosed(t *testing.T) {
	clk := newClock()
	used := &downSet{UsedSet: NewUsedSet(0), lostMark: true}
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Used: used, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonStoreUnavailable)
	used.lostMark = false
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonReplayed)
}

// TestFailureCounterDownIsUnavailable: a state whose refused-factor count
// cannot be read (the shared counter down) is refused as
// store_unavailable, where a full in-process counter says
// replay_cache_full.
func TestFailureCounterDownIsUnavailable(t *testing.T) {
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Failures: downCounter{NewFailureSet(0)}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	_, err = is.Verify(tok, alice)
	wantReason(t, err, ReasonStoreUnavailable)
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonStoreUnavailable)
}

// TestInProcessSpentSetUnchanged: the in-process set never reports the
// store unavailable; full, it refuses as replay_cache_full as before.
func TestInProcessSpentSetUnchanged(t *testing.T) {
	s := NewUsedSet(1)
	if _, err := s.Seen("a", t0); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Mark("a", t0.Add(time.Hour), t0)
	if _, err := s.Mark("b", t0.Add(time.Hour), t0); errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, ErrUsedSetFull) {
		t.Fatalf("full: %v", err)
	}
	clk := newClock()
	is, err := NewIssuer(Config{Keys: testkeys.Keyset(t, t0), Used: s, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustIssue(t, is, resubmitChallenge(alice))
	_, err = is.Redeem(tok, alice)
	wantReason(t, err, ReasonReplayFull)
}
