package savedpool

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/revoke"
)

// ownDataDir keeps Caddy's instance id (which names the saved files) out
// of the user's data directory.
func ownDataDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
}

// TestRevocationsOutliveTheProcess: the last config letting go of the set
// saves it; a set made afterwards on the same storage (a restart) reads
// it back, so the logged-out cookie is still no session.
func TestRevocationsOutliveTheProcess(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	first := AcquireRevocations(1000, st, zap.NewNop())
	first.WaitRead()
	if err := first.Revoke(ctx, "stolen", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	first.Release()
	if n := References(RevocationsKind.Key); n != 0 {
		t.Fatalf("set still referenced %d times", n)
	}
	if keys, _ := st.List(ctx, RevocationsKind.Dir, false); len(keys) != 1 {
		t.Fatalf("saved at the release: %v, want one file", keys)
	}
	second := AcquireRevocations(1000, st, zap.NewNop())
	second.WaitRead()
	defer second.Release()
	if second.Set() == first.Set() {
		t.Fatal("the released set was kept: this test restarts nothing")
	}
	if ok, _ := second.Revoked(ctx, "stolen", time.Now()); !ok {
		t.Fatal("a logout before the restart is forgotten after it")
	}
	if ok, _ := second.Revoked(ctx, "other", time.Now()); ok {
		t.Fatal("a session never logged out reads as ended")
	}
}

// TestRevocationsKeptWhenTheBoundChanges: a reload that changes
// max_revocations keeps the set (the new config takes it before the old
// one lets go) under the new bound.
func TestRevocationsKeptWhenTheBoundChanges(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	old := AcquireRevocations(1000, nil, zap.NewNop())
	_ = old.Revoke(ctx, "ended", now.Add(time.Hour), now)
	reloaded := AcquireRevocations(5000, nil, zap.NewNop())
	old.Release()
	defer reloaded.Release()
	if ok, _ := reloaded.Revoked(ctx, "ended", now); !ok {
		t.Fatal("a reload changing max_revocations forgot a logout")
	}
	for i := range 2000 {
		_ = reloaded.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour), now)
	}
	if n := reloaded.Set().Stats().Entries; n != 2001 {
		t.Fatalf("the set holds %d entries: the new bound does not apply", n)
	}
}

// TestFailedReloadGivesTheSetBack: a reload whose config took the set
// (with a lower bound, another storage) and then failed leaves the
// running config's set whole, under its bound, saved to its storage.
func TestFailedReloadGivesTheSetBack(t *testing.T) {
	ownDataDir(t)
	ctx, now := context.Background(), time.Now()
	running, failed := &certmagic.FileStorage{Path: t.TempDir()}, &certmagic.FileStorage{Path: t.TempDir()}
	h := AcquireRevocations(100_000, running, zap.NewNop())
	h.WaitRead()
	for i := range 3000 {
		_ = h.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour), now)
	}
	refused := AcquireRevocations(1000, failed, zap.NewNop())
	// Caddy stops the refused config's started apps, then cleans them up.
	refused.Stopping()
	refused.Release()
	_ = h.Revoke(ctx, "after", now.Add(time.Hour), now)
	if n := h.Set().Stats().Entries; n != 3001 {
		t.Fatalf("the running set holds %d entries after a refused reload with a lower bound", n)
	}
	h.Release()
	for name, st := range map[string]*certmagic.FileStorage{"running": running, "failed": failed} {
		keys, _ := st.List(ctx, RevocationsKind.Dir, false)
		if want := map[string]int{"running": 1, "failed": 0}[name]; len(keys) != want {
			t.Errorf("the %s config's storage holds %v, want %d file(s)", name, keys, want)
		}
	}
}

// TestRevocationsFollowAStorageChange: after a reload to another storage
// the whole set is saved there (not only what changed since), so a
// restart on the new storage keeps every logout.
func TestRevocationsFollowAStorageChange(t *testing.T) {
	ownDataDir(t)
	ctx, now := context.Background(), time.Now()
	first, second := &certmagic.FileStorage{Path: t.TempDir()}, &certmagic.FileStorage{Path: t.TempDir()}
	old := AcquireRevocations(1000, first, zap.NewNop())
	old.WaitRead()
	_ = old.Revoke(ctx, "ended", now.Add(time.Hour), now)
	old.Sync()
	reloaded := AcquireRevocations(1000, second, zap.NewNop())
	old.Release()
	reloaded.Release() // the stop
	restarted := AcquireRevocations(1000, second, zap.NewNop())
	restarted.WaitRead()
	defer restarted.Release()
	if ok, _ := restarted.Revoked(ctx, "ended", now); !ok {
		t.Fatal("a logout saved before a storage change is forgotten by a restart on the new storage")
	}
}

// blockedListing never answers a listing until released.
type blockedListing struct {
	*certmagic.FileStorage
	release chan struct{}
}

func (b *blockedListing) List(ctx context.Context, dir string, rec bool) ([]string, error) {
	<-b.release
	return b.FileStorage.List(ctx, dir, rec)
}

// TestSessionsRefusedUntilTheSavedSetIsRead: while the start's read of
// the saved revocations is not done, no session is taken as not ended
// (the error makes the guard treat the request as carrying none); once
// read, the saved logout is known.
func TestSessionsRefusedUntilTheSavedSetIsRead(t *testing.T) {
	ctx := context.Background()
	st := &blockedListing{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	m := revoke.NewMemory(1000)
	now := time.Now()
	_ = m.Revoke(ctx, "ended", now.Add(time.Hour), now)
	b, _ := m.AppendSnapshot(nil, now)
	if err := st.Store(ctx, RevocationsKind.Dir+"/earlier-1.bin", b); err != nil {
		t.Fatal(err)
	}
	kind := RevocationsKind
	kind.Key, kind.Timeout = "login_guard.revocations.test", 100*time.Millisecond
	p := Revocations{Acquire(kind, func() *revoke.Memory { return revoke.NewMemory(1000) }, 1000, st, zap.NewNop())}
	defer p.Release()
	for _, id := range []string{"ended", "live"} {
		if _, err := p.Revoked(ctx, id, time.Now()); !errors.Is(err, ErrRevocationsLoading) {
			t.Fatalf("%s answered before the saved set was read: %v", id, err)
		}
	}
	close(st.release)
	for deadline := time.Now().Add(5 * time.Second); !p.Loaded() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if ok, err := p.Revoked(ctx, "ended", time.Now()); !ok || err != nil {
		t.Fatalf("after the read: revoked %v, %v", ok, err)
	}
	if ok, err := p.Revoked(ctx, "live", time.Now()); ok || err != nil {
		t.Fatalf("a live session after the read: revoked %v, %v", ok, err)
	}
}
