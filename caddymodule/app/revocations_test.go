package app

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/internal/revoke"
)

// savedSet makes a set saved as own in st, synced every every (long by
// default: the test syncs by hand), released when the test ends.
func savedSet(t *testing.T, st certmagic.Storage, own string, logger *zap.Logger) *savedRevocations {
	t.Helper()
	s := newSavedRevocations(1000, &revocationsStorage{st: st, logger: logger}, own, time.Hour, 2*time.Second)
	t.Cleanup(func() { _ = s.Destruct() })
	return s
}

// TestRevocationsOutliveTheProcess: the last config letting go of the set
// saves it; a set made afterwards on the same storage (a restart) reads
// it back, so the logged-out cookie is still no session.
func TestRevocationsOutliveTheProcess(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	first := acquireRevocations(1000, st, zap.NewNop())
	if err := first.Revoke(ctx, "stolen", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	releaseRevocations()
	if n := poolRefs(revocationsPool, revocationsKey); n != 0 {
		t.Fatalf("set still referenced %d times", n)
	}
	if _, err := st.Stat(ctx, path.Join(revocationsDir, processName()+revocationsFileExt)); err != nil {
		t.Fatalf("nothing saved at the release: %v", err)
	}
	second := acquireRevocations(1000, st, zap.NewNop())
	defer releaseRevocations()
	if second == first {
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
	old := acquireRevocations(1000, nil, zap.NewNop())
	_ = old.Revoke(ctx, "ended", now.Add(time.Hour), now)
	reloaded := acquireRevocations(5000, nil, zap.NewNop())
	releaseRevocations() // the old config's release
	defer releaseRevocations()
	if ok, _ := reloaded.Revoked(ctx, "ended", now); !ok {
		t.Fatal("a reload changing max_revocations forgot a logout")
	}
	for i := range 2000 {
		_ = reloaded.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour), now)
	}
	if n := reloaded.(interface{ Stats() revoke.Stats }).Stats().Entries; n != 2001 {
		t.Fatalf("the set holds %d entries: the new bound does not apply", n)
	}
}

// TestRevocationsSharedThroughStorage: instances that share Caddy's
// storage take in each other's logouts at their next sync; a file that
// is not a saved set is logged and left, and a save in progress (a
// temporary file) is skipped.
func TestRevocationsSharedThroughStorage(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	core, logs := observer.New(zapcore.InfoLevel)
	a := savedSet(t, st, "a", zap.NewNop())
	b := savedSet(t, st, "b", zap.New(core))

	_ = a.Revoke(ctx, "ended-on-a", now.Add(time.Hour), now)
	a.syncBounded(false)
	partial := newSavedRevocations(1000, &revocationsStorage{}, "", 0, 0)
	_ = partial.Revoke(ctx, "being-saved", now.Add(time.Hour), now)
	snap, _ := partial.AppendSnapshot(nil, now)
	for key, v := range map[string][]byte{
		path.Join(revocationsDir, "junk"+revocationsFileExt): []byte("not a set"),
		path.Join(revocationsDir, "tmp123"):                  snap,
	} {
		if err := st.Store(ctx, key, v); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := b.Revoked(ctx, "ended-on-a", now); ok {
		t.Fatal("b knew of a's logout before syncing")
	}
	b.syncBounded(true)
	later := now.Add(2 * time.Minute)
	if ok, _ := b.Revoked(ctx, "ended-on-a", later); !ok {
		t.Fatal("b did not take in the logout a saved")
	}
	if ok, _ := b.Revoked(ctx, "being-saved", later); ok {
		t.Fatal("a temporary file was read")
	}
	if logs.FilterMessage("could not read saved sessions ended by a logout").Len() != 1 {
		t.Fatalf("the junk file was not reported once: %v", logs.All())
	}
	if !st.Exists(ctx, path.Join(revocationsDir, "junk"+revocationsFileExt)) {
		t.Fatal("a file that could not be read was deleted")
	}
	_ = b.Revoke(ctx, "ended-on-b", later.Add(time.Hour), later)
	b.syncBounded(false)
	a.syncBounded(false)
	if ok, _ := a.Revoked(ctx, "ended-on-b", later); !ok {
		t.Fatal("a did not take in the logout b saved")
	}
}

// TestRevocationsExpiredFileDeleted: a saved file with nothing live left
// is deleted by the instance that reads it.
func TestRevocationsExpiredFileDeleted(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	dead := newSavedRevocations(1000, &revocationsStorage{}, "", 0, 0)
	_ = dead.Revoke(ctx, "long-gone", now.Add(time.Millisecond), now)
	snap, _ := dead.AppendSnapshot(nil, now)
	key := path.Join(revocationsDir, "dead"+revocationsFileExt)
	if err := st.Store(ctx, key, snap); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	savedSet(t, st, "reader", zap.NewNop()) // reads every file at once
	if _, err := st.Stat(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file with nothing live left is still there: %v", err)
	}
}

// hangingStorage does not answer a Store until released, and then
// fails it (writing nothing once the test has ended).
type hangingStorage struct {
	*certmagic.FileStorage
	release chan struct{}
}

func (h *hangingStorage) Store(context.Context, string, []byte) error {
	<-h.release
	return errors.New("released")
}

// TestRevocationsStorageHangs: a storage that does not answer holds up
// neither a stop nor the periodic sync for longer than the bound, and the
// periodic sync leaves one call waiting on it, not one a tick.
func TestRevocationsStorageHangs(t *testing.T) {
	h := &hangingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	defer close(h.release)
	ctx, now := context.Background(), time.Now()
	s := newSavedRevocations(1000, &revocationsStorage{st: h, logger: zap.NewNop()}, "own", time.Hour, 200*time.Millisecond)
	_ = s.Revoke(ctx, "x", now.Add(time.Hour), now)
	start := time.Now()
	s.syncBounded(false) // hangs in Store: given up after the bound
	s.syncBounded(false) // the first still runs: skipped at once
	if err := s.Destruct(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a hanging storage held the syncs and the stop %v", took)
	}
}
