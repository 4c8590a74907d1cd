package savedpool

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
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

// TestUsedAssertionsReadTheSavedFormat: a set saved in the format every
// release so far writes (written out here byte by byte: the magic, then
// per token the first 8 bytes of its replay key and its expiry in Unix
// nanoseconds, little-endian) is read back, so a token used before an
// upgrade is still a replay after it.
func TestUsedAssertionsReadTheSavedFormat(t *testing.T) {
	ownDataDir(t)
	ctx, now := context.Background(), time.Now()
	used := loginid.ReplayKey(sha256.Sum256([]byte("used-before-the-upgrade")))
	b := append([]byte("LGLIDUS1"), used[:8]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(now.Add(2*time.Minute).UnixNano()))
	st := &certmagic.FileStorage{Path: t.TempDir()}
	if err := st.Store(ctx, LoginIDUsedKind.Dir+"/earlier-1.bin", b); err != nil {
		t.Fatal(err)
	}
	u := NewUsedAssertions(1000)
	h := u.Take(st, zap.NewNop())
	defer h.Release()
	if !h.WaitRead() {
		t.Fatal("the saved set was not read")
	}
	if err := u.Remember(used, now.Add(2*time.Minute), now); !errors.Is(err, loginid.ErrReplayed) {
		t.Fatalf("a token used before the upgrade: %v, want a replay", err)
	}
	fresh := loginid.ReplayKey(sha256.Sum256([]byte("fresh")))
	if err := u.Remember(fresh, now.Add(2*time.Minute), now); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
}
