package savedpool

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/loginid"
)

// TestUsedAssertionsOutliveTheProcess: before Start takes the set every
// token is refused (it cannot be told apart from one used); a token used
// before a restart is a replay after it; a reload that changes
// replay_cache_size keeps what was used.
func TestUsedAssertionsOutliveTheProcess(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	now := time.Now()
	key := loginid.ReplayKey(sha256.Sum256([]byte("nonce-1")))
	until := now.Add(2 * time.Minute)

	first := NewUsedAssertions(1000)
	if err := first.Remember(key, until, now); !errors.Is(err, ErrUsedLoading) {
		t.Fatalf("before Start: %v, want the token refused", err)
	}
	h1 := first.Take(st, zap.NewNop())
	h1.WaitRead()
	if err := first.Remember(key, until, now); err != nil {
		t.Fatal(err)
	}
	if err := first.Remember(key, until, now); !errors.Is(err, loginid.ErrReplayed) {
		t.Fatalf("a token used twice: %v", err)
	}
	// A reload with another size takes the same set.
	reloaded := NewUsedAssertions(5000)
	h2 := reloaded.Take(st, zap.NewNop())
	h1.Release()
	if err := reloaded.Remember(key, until, now); !errors.Is(err, loginid.ErrReplayed) {
		t.Fatalf("a token used before a reload changing replay_cache_size: %v", err)
	}
	h2.Release()
	if n := References(LoginIDUsedKind.Key); n != 0 {
		t.Fatalf("set still held %d times", n)
	}
	restarted := NewUsedAssertions(1000)
	h3 := restarted.Take(st, zap.NewNop())
	h3.WaitRead()
	defer h3.Release()
	if err := restarted.Remember(key, until, now); !errors.Is(err, loginid.ErrReplayed) {
		t.Fatalf("a token used before a restart: %v, want a replay", err)
	}
	other := loginid.ReplayKey(sha256.Sum256([]byte("nonce-2")))
	if err := restarted.Remember(other, until, now); err != nil {
		t.Fatalf("a fresh token after the restart: %v", err)
	}
}
