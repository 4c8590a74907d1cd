package app

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/internal/revoke"
)

// newTestSet makes a saved set of revocations on st, closed when the test
// ends.
func newTestSet(t *testing.T, st certmagic.Storage, logger *zap.Logger, every, timeout time.Duration) (*revoke.Memory, *savedSet) {
	t.Helper()
	m := revoke.NewMemory(1000)
	s := newSavedSet(m, "test entries", revocationsDir, &storageAt{st: st, logger: logger}, every, timeout)
	t.Cleanup(func() {
		select {
		case <-s.stop:
		default:
			s.Close()
		}
	})
	return m, s
}

// storeSnapshot saves, as key, a set holding id until until.
func storeSnapshot(t *testing.T, st certmagic.Storage, key, id string, until time.Time) {
	t.Helper()
	m := revoke.NewMemory(10)
	now := time.Now()
	_ = m.Revoke(context.Background(), id, until, now)
	b, _ := m.AppendSnapshot(nil, now)
	if err := st.Store(context.Background(), path.Join(revocationsDir, key), b); err != nil {
		t.Fatal(err)
	}
}

// TestSavedSetsShareStorage: sets sharing Caddy's storage (two instances,
// or two processes with one instance id) take in each other's entries at
// their next sync; a file that is not a saved set is logged and left; a
// save in progress (a temporary file) is not read.
func TestSavedSetsShareStorage(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	core, logs := observer.New(zapcore.InfoLevel)
	a, sa := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	b, sb := newTestSet(t, st, zap.New(core), time.Hour, 2*time.Second)
	if sa.file == sb.file {
		t.Fatalf("two sets of one instance share the file %s", sa.file)
	}

	_ = a.Revoke(ctx, "ended-on-a", now.Add(time.Hour), now)
	sa.syncBounded(false)
	storeSnapshot(t, st, "tmp123", "being-saved", now.Add(time.Hour))
	if err := st.Store(ctx, path.Join(revocationsDir, "junk"+savedSetExt), []byte("not a set")); err != nil {
		t.Fatal(err)
	}
	sb.syncBounded(false)
	if ok, _ := b.Revoked(ctx, "ended-on-a", now); !ok {
		t.Fatal("b did not take in the logout a saved")
	}
	if ok, _ := b.Revoked(ctx, "being-saved", now); ok {
		t.Fatal("a temporary file was read")
	}
	if logs.FilterMessage("could not read saved test entries").Len() != 1 {
		t.Fatalf("the junk file was not reported once: %v", logs.All())
	}
	if !st.Exists(ctx, path.Join(revocationsDir, "junk"+savedSetExt)) {
		t.Fatal("a file that could not be read was deleted")
	}
	_ = b.Revoke(ctx, "ended-on-b", now.Add(time.Hour), now)
	sb.syncBounded(false)
	sa.syncBounded(false)
	if ok, _ := a.Revoked(ctx, "ended-on-b", now); !ok {
		t.Fatal("a did not take in the logout b saved")
	}
}

// TestSavedSetDeletesWhatItNoLongerNeeds: a file with nothing live left
// is deleted at once; a file the own file holds, written two syncs or
// more before it (a restart's predecessor), is deleted once the own file
// is written again, and what it held is still saved.
func TestSavedSetDeletesWhatItNoLongerNeeds(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	const every = 40 * time.Millisecond
	storeSnapshot(t, st, "expired"+savedSetExt, "gone", now.Add(20*time.Millisecond))
	storeSnapshot(t, st, "predecessor"+savedSetExt, "kept", now.Add(time.Hour))
	time.Sleep(30 * time.Millisecond)

	a, sa := newTestSet(t, st, zap.NewNop(), every, 2*time.Second)
	if st.Exists(ctx, path.Join(revocationsDir, "expired"+savedSetExt)) {
		t.Fatal("a file with nothing live left was kept")
	}
	if ok, _ := a.Revoked(ctx, "kept", now); !ok {
		t.Fatal("the predecessor's file was not read")
	}
	if !st.Exists(ctx, path.Join(revocationsDir, "predecessor"+savedSetExt)) {
		t.Fatal("the predecessor's file was deleted before the own file was written well after it")
	}
	time.Sleep(3 * every)
	_ = a.Revoke(ctx, "later", time.Now().Add(time.Hour), time.Now())
	sa.syncBounded(true)
	if st.Exists(ctx, path.Join(revocationsDir, "predecessor"+savedSetExt)) {
		t.Fatal("a file the own file holds, written long before it, was kept")
	}
	sa.Close()
	c, _ := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := c.Revoked(ctx, "kept", time.Now()); !ok {
		t.Fatal("the predecessor's logout was lost with its file")
	}
}

// TestIdleSetsKeepEachOthersFiles: two running sets that hold each
// other's entries and then idle for many syncs do not delete each
// other's files (each holds the other's entries, so deleting both would
// lose them all): a later start still reads every entry.
func TestIdleSetsKeepEachOthersFiles(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	const every = 40 * time.Millisecond
	a, sa := newTestSet(t, st, zap.NewNop(), every, 2*time.Second)
	b, sb := newTestSet(t, st, zap.NewNop(), every, 2*time.Second)
	_ = a.Revoke(ctx, "on-a", now.Add(time.Hour), now)
	_ = b.Revoke(ctx, "on-b", now.Add(time.Hour), now)
	for range 2 {
		sa.syncBounded(true)
		sb.syncBounded(true)
	}
	time.Sleep(6 * every) // both idle, syncing on their own
	sa.syncBounded(true)
	sb.syncBounded(true)
	sa.Close()
	sb.Close()
	c, _ := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	for _, id := range []string{"on-a", "on-b"} {
		if ok, _ := c.Revoked(ctx, id, time.Now()); !ok {
			t.Errorf("%s was lost: two idle sets deleted each other's files", id)
		}
	}
}

// hangingStorage does not answer a Store until released, then fails it
// (writing nothing once the test has ended).
type hangingStorage struct {
	*certmagic.FileStorage
	release chan struct{}
	stores  atomic.Int32
}

func (h *hangingStorage) Store(context.Context, string, []byte) error {
	h.stores.Add(1)
	<-h.release
	return errors.New("released")
}

// TestSavedSetStorageHangs: a storage that does not answer holds up
// neither a periodic sync nor the last save at a stop for longer than
// the bound, a sync does not queue behind a hung one, and a last save
// that did not finish is logged as an error.
func TestSavedSetStorageHangs(t *testing.T) {
	ownDataDir(t)
	h := &hangingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	defer close(h.release)
	core, logs := observer.New(zapcore.InfoLevel)
	start := time.Now()
	m, s := newTestSet(t, h, zap.New(core), time.Hour, 200*time.Millisecond) // its first save hangs
	now := time.Now()
	_ = m.Revoke(context.Background(), "x", now.Add(time.Hour), now)
	s.syncBounded(false) // the first still runs: skipped at once
	s.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a hanging storage held the syncs and the stop %v", took)
	}
	if n := h.stores.Load(); n != 1 {
		t.Fatalf("%d saves reached the storage, want the one that hangs", n)
	}
	if logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("may not be saved").Len() != 1 {
		t.Fatalf("the lost last save was not logged as an error: %v", logs.All())
	}
}

// quirkyStorage says nothing of when a file was modified, and its first
// listing fails as if a file vanished while it walked the directory.
type quirkyStorage struct {
	*certmagic.FileStorage
	listed atomic.Int32
}

func (q *quirkyStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	info, err := q.FileStorage.Stat(ctx, key)
	info.Modified = time.Time{}
	return info, err
}

func (q *quirkyStorage) List(ctx context.Context, dir string, rec bool) ([]string, error) {
	if q.listed.Add(1) == 1 {
		return nil, fs.ErrNotExist
	}
	return q.FileStorage.List(ctx, dir, rec)
}

// TestSavedSetReadsWhatAQuirkyStorageHolds: a listing that fails mid-walk
// is tried again, and a file whose modification time the storage does not
// give is read all the same.
func TestSavedSetReadsWhatAQuirkyStorageHolds(t *testing.T) {
	ownDataDir(t)
	q := &quirkyStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	storeSnapshot(t, q, "earlier"+savedSetExt, "ended", time.Now().Add(time.Hour))
	m, _ := newTestSet(t, q, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := m.Revoked(context.Background(), "ended", time.Now()); !ok {
		t.Fatal("a saved logout was not read at the start")
	}
}
