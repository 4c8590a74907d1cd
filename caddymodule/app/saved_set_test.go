package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
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
// their next sync; a file that is not a saved set is logged once and
// left; a save in progress (a temporary file) is not read.
func TestSavedSetsShareStorage(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	core, logs := observer.New(zapcore.InfoLevel)
	a, sa := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	b, sb := newTestSet(t, st, zap.New(core), time.Hour, 2*time.Second)
	if sa.prefix == sb.prefix {
		t.Fatalf("two sets of one instance share the name %s", sa.prefix)
	}

	_ = a.Revoke(ctx, "ended-on-a", now.Add(time.Hour), now)
	sa.syncBounded(false)
	storeSnapshot(t, st, "123456", "being-saved", now.Add(time.Hour))
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
	_ = b.Revoke(ctx, "ended-on-b", now.Add(time.Hour), now)
	sb.syncBounded(false)
	sb.syncBounded(false)
	sa.syncBounded(false)
	if ok, _ := a.Revoked(ctx, "ended-on-b", now); !ok {
		t.Fatal("a did not take in the logout b saved")
	}
	if n := logs.FilterMessage("could not read saved test entries").Len(); n != 1 {
		t.Fatalf("the junk file was reported %d times, want once: %v", n, logs.All())
	}
	if !st.Exists(ctx, path.Join(revocationsDir, "junk"+savedSetExt)) {
		t.Fatal("a file that could not be read was deleted")
	}
}

// savedFiles lists the saved sets' files in st.
func savedFiles(t *testing.T, st certmagic.Storage) []string {
	t.Helper()
	keys, err := listStored(context.Background(), st, revocationsDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if strings.HasSuffix(k, savedSetExt) {
			out = append(out, k)
		}
	}
	return out
}

// TestSavedSetDeletesWhatItNoLongerNeeds: at its first sync a set deletes
// a file with nothing live left, and the files it read once its own file
// holds them (a restart's predecessor, an earlier generation of another
// set); what they held is still saved.
func TestSavedSetDeletesWhatItNoLongerNeeds(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	storeSnapshot(t, st, "expired-1"+savedSetExt, "gone", now.Add(20*time.Millisecond))
	storeSnapshot(t, st, "predecessor-1"+savedSetExt, "old", now.Add(time.Hour))
	storeSnapshot(t, st, "predecessor-2"+savedSetExt, "kept", now.Add(time.Hour))
	time.Sleep(30 * time.Millisecond)

	a, sa := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := a.Revoked(ctx, "kept", now); !ok {
		t.Fatal("the predecessor's latest file was not read")
	}
	if ok, _ := a.Revoked(ctx, "old", now); ok {
		t.Fatal("an earlier generation was read")
	}
	if files := savedFiles(t, st); len(files) != 1 || !strings.HasPrefix(files[0], sa.prefix) {
		t.Fatalf("files after the first sync: %v, want only the set's own", files)
	}
	sa.Close()
	c, _ := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := c.Revoked(ctx, "kept", time.Now()); !ok {
		t.Fatal("the predecessor's logout was lost with its file")
	}
}

// TestRestartsLeaveOneFile: restart after restart, with and without
// logouts in between, the directory holds one saved file, and old
// temporary files (saves killed mid-write) go too.
func TestRestartsLeaveOneFile(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	old := path.Join(revocationsDir, "98765")
	if err := st.Store(ctx, old, []byte("half")); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(st.Filename(old), past, past); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		m, s := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
		if i%2 == 0 {
			now := time.Now()
			_ = m.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour), now)
		}
		s.Close()
	}
	if files := savedFiles(t, st); len(files) != 1 {
		t.Fatalf("six restarts left %v", files)
	}
	if st.Exists(ctx, old) {
		t.Fatal("an old temporary file was kept")
	}
	m, _ := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	for _, id := range []string{"s0", "s2", "s4"} {
		if ok, _ := m.Revoked(ctx, id, time.Now()); !ok {
			t.Errorf("%s was lost across the restarts", id)
		}
	}
}

// TestFullSetKeepsTheFilesItRead: a set that could not take a file's
// entries in whole (its bound is lower) does not delete that file.
func TestFullSetKeepsTheFilesItRead(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	big := revoke.NewMemory(5000)
	for i := range 3000 {
		_ = big.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Millisecond), now)
	}
	b, _ := big.AppendSnapshot(nil, now)
	key := path.Join(revocationsDir, "bigger-1"+savedSetExt)
	if err := st.Store(ctx, key, b); err != nil {
		t.Fatal(err)
	}
	_, s := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second) // bound 1000
	s.syncBounded(true)
	if !st.Exists(ctx, key) {
		t.Fatal("a file whose entries did not all fit was deleted")
	}
}

// TestIdleSetsKeepEachOthersFiles: two running sets that hold each
// other's entries and then idle for many syncs never delete both files:
// a later start still reads every entry.
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
	if files := savedFiles(t, st); len(files) == 0 {
		t.Fatal("two idle sets deleted each other's files")
	}
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
// is tried again, and where the storage gives no modification times the
// sets still read what is saved at the start and take in each other's
// later entries.
func TestSavedSetReadsWhatAQuirkyStorageHolds(t *testing.T) {
	ownDataDir(t)
	ctx := context.Background()
	q := &quirkyStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	storeSnapshot(t, q, "earlier-1"+savedSetExt, "ended", time.Now().Add(time.Hour))
	a, sa := newTestSet(t, q, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := a.Revoked(ctx, "ended", time.Now()); !ok {
		t.Fatal("a saved logout was not read at the start")
	}
	b, sb := newTestSet(t, q, zap.NewNop(), time.Hour, 2*time.Second)
	for i := range 3 {
		now := time.Now()
		_ = b.Revoke(ctx, "later"+strconv.Itoa(i), now.Add(time.Hour), now)
		sb.syncBounded(true)
		sa.syncBounded(true)
		if ok, _ := a.Revoked(ctx, "later"+strconv.Itoa(i), time.Now()); !ok {
			t.Fatalf("logout %d on b did not reach a", i)
		}
	}
}

// slowListing does not answer a listing until released.
type slowListing struct {
	*certmagic.FileStorage
	release chan struct{}
}

func (s *slowListing) List(ctx context.Context, dir string, rec bool) ([]string, error) {
	<-s.release
	return s.FileStorage.List(ctx, dir, rec)
}

// TestSessionsRefusedUntilTheSavedSetIsRead: while a slow storage holds
// up the first read past its bound, no session is taken as not ended
// (the error makes the guard treat the request as carrying none); once
// read, the saved logout is known.
func TestSessionsRefusedUntilTheSavedSetIsRead(t *testing.T) {
	ownDataDir(t)
	ctx := context.Background()
	st := &slowListing{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	storeSnapshot(t, st, "earlier-1"+savedSetExt, "ended", time.Now().Add(time.Hour))
	m := revoke.NewMemory(1000)
	p := &pooledRevocations{Memory: m}
	p.saved = newSavedSet(m, "test entries", revocationsDir, &storageAt{st: st, logger: zap.NewNop()}, time.Hour, 100*time.Millisecond)
	defer p.saved.Close()
	for _, id := range []string{"ended", "live"} {
		if _, err := p.Revoked(ctx, id, time.Now()); !errors.Is(err, errRevocationsLoading) {
			t.Fatalf("%s answered before the saved set was read: %v", id, err)
		}
	}
	close(st.release)
	waitFor := time.Now().Add(5 * time.Second)
	for !p.saved.Loaded() && time.Now().Before(waitFor) {
		time.Sleep(10 * time.Millisecond)
	}
	if ok, err := p.Revoked(ctx, "ended", time.Now()); !ok || err != nil {
		t.Fatalf("after the read: revoked %v, %v", ok, err)
	}
	if ok, err := p.Revoked(ctx, "live", time.Now()); ok || err != nil {
		t.Fatalf("a live session after the read: revoked %v, %v", ok, err)
	}
}
