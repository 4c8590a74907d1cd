package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/internal/testkit/testkeys"
)

// TestSessionBinary: the session's binary form round-trips, and any
// truncation or trailing byte is refused.
func TestSessionBinary(t *testing.T) {
	for _, s := range []Session{
		{},
		{User: "jlopez", Session: "s1", LoginAt: 1764500000, Challenged: true},
		{User: "ünïcode user", Session: strings.Repeat("x", 300), LoginAt: -1},
	} {
		b, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got Session
		if err := got.UnmarshalBinary(b); err != nil || got != s {
			t.Fatalf("round trip %+v: got %+v, %v", s, got, err)
		}
		for i := range len(b) {
			if err := got.UnmarshalBinary(b[:i]); err == nil {
				t.Fatalf("%+v truncated to %d bytes was accepted", s, i)
			}
		}
		if err := got.UnmarshalBinary(append(b, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
	if err := new(Session).UnmarshalBinary([]byte{1, 0, 0, 0, 2}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

// downRevocations is a revocation store that cannot answer.
type downRevocations struct{}

func (downRevocations) Revoke(context.Context, string, time.Time, time.Time) error {
	return errors.New("redis store unavailable")
}
func (downRevocations) Revoked(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("redis store unavailable")
}

// TestRevocationOutageLoggedOnce: while the revocation store does not
// answer, every request with a session cookie is refused its session
// (fail closed), and the log says so once per revokeLogEvery, not once a
// request.
func TestRevocationOutageLoggedOnce(t *testing.T) {
	now := time.Now()
	a := Standalone(testkeys.Keyset(t, now), time.Hour)
	t.Cleanup(func() { _ = a.Stop(); _ = a.Cleanup() })
	core, logs := observer.New(zap.InfoLevel)
	a.logger = zap.New(core)
	b, _, err := a.AppendSealSession(nil, Session{User: "jlopez", Session: "s1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	a.rt.revoked = downRevocations{}
	for i := range 100 {
		if _, _, ok := a.OpenSession(context.Background(), string(b), now.Add(time.Duration(i)*time.Millisecond)); ok {
			t.Fatal("a session opened while revocations are unavailable")
		}
	}
	if n := logs.FilterMessage("session revocations unavailable").Len(); n != 1 {
		t.Fatalf("%d lines for 100 requests in 100 ms", n)
	}
	// A logout still ends the session it carries: its revocation must be
	// recorded (or kept for the store), not skipped as no session.
	if s, _, ok := a.OpenEndingSession(context.Background(), string(b), now); !ok || s.Session != "s1" || s.User != "jlopez" {
		t.Fatalf("a logout with revocations unavailable opened %+v, %v", s, ok)
	}
	// The store answers again: past the interval, the next session opened
	// writes the line standing for the 99 held back.
	a.rt.revoked = revoke.NewMemory(revoke.DefaultMax)
	if _, _, ok := a.OpenSession(context.Background(), string(b), now.Add(revokeLogEvery+time.Second)); !ok {
		t.Fatal("no session once revocations answer")
	}
	if n := logs.FilterMessage("session revocations unavailable").Len(); n != 2 {
		t.Fatalf("the held-back lines were not written once the store answered: %d lines", n)
	}
}
