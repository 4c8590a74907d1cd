package savedpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/stepup"
)

// TestSpentTokensFailClosedUntilRead: while the start's read of the saved
// spent tokens is not done, every token reads as spent and none can be
// spent; once read, a token spent before the restart is still spent and
// another is not.
func TestSpentTokensFailClosedUntilRead(t *testing.T) {
	ownDataDir(t)
	ctx, now := context.Background(), time.Now()
	saved := stepup.NewUsedSet(0)
	_, _ = saved.Mark("stepup:spent", now.Add(time.Hour), now)
	b, _ := saved.AppendSnapshot(nil, now)
	st := &blockedListing{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	if err := st.Store(ctx, SpentKind.Dir+"/earlier-1.bin", b); err != nil {
		t.Fatal(err)
	}
	kind := SpentKind
	kind.Key, kind.Timeout = "login_guard.spent_tokens.test", 100*time.Millisecond
	s := SpentTokens{Acquire(kind, func() *stepup.UsedSet { return stepup.NewUsedSet(0) }, stepup.DefaultUsedSetSize, st, zap.NewNop())}
	defer s.Release()
	if seen, err := s.Seen("stepup:other", now); !seen || err != nil {
		t.Fatal("a token reads as not spent before the saved set was read")
	}
	if _, err := s.Mark("stepup:other", now.Add(time.Hour), now); !errors.Is(err, ErrSpentLoading) {
		t.Fatalf("a token was spent before the saved set was read: %v", err)
	}
	close(st.release)
	for deadline := time.Now().Add(5 * time.Second); !s.Loaded() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if seen, err := s.Seen("stepup:spent", now); !seen || err != nil {
		t.Fatal("a token spent before the restart is not spent after it")
	}
	if ok, err := s.Mark("stepup:other", now.Add(time.Hour), now); !ok || err != nil {
		t.Fatalf("a fresh token after the read: %v %v", ok, err)
	}
}
