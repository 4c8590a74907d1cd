package savedset

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
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

// files gives a certmagic storage the Modified a Set asks for, as the
// app does.
type files struct{ certmagic.Storage }

func (f files) Modified(ctx context.Context, key string) (time.Time, bool, error) {
	info, err := f.Stat(ctx, key)
	return info.Modified, info.IsTerminal, err
}

// testDir is where the tests' sets are saved.
const testDir = "login_guard/revocations"

// newTestSet makes a saved set of revocations on st, closed when the test
// ends.
func newTestSet(t *testing.T, st certmagic.Storage, logger *zap.Logger, every, timeout time.Duration) (*revoke.Memory, *Set) {
	t.Helper()
	m := revoke.NewMemory(1000)
	s := New(m, Config{What: "test entries", Dir: testDir, Instance: "test", Every: every, Timeout: timeout}, &Storage{St: files{st}, ID: "test", Logger: logger})
	t.Cleanup(func() {
		select {
		case <-s.stop:
		default:
			s.Close()
		}
		settle(s)
	})
	return m, s
}

// settle waits, a few seconds at most (a test's storage may hang on
// purpose), for a save Close queued behind a slow sync to end, so it does
// not write into the test's directory while that is removed.
func settle(s *Set) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s.waiting.Load() == 0 && s.mu.TryLock() {
			s.mu.Unlock()
			return
		}
	}
}

// readBack starts a new set on st (a restart) and checks it reads each
// of ids as saved.
func readBack(t *testing.T, st certmagic.Storage, ids ...string) {
	t.Helper()
	m, _ := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	for _, id := range ids {
		if ok, _ := m.Revoked(context.Background(), id, time.Now()); !ok {
			t.Errorf("%s was lost", id)
		}
	}
}

// bigSnapshot is a saved set of n entries, ending from an hour on.
func bigSnapshot(n int) []byte {
	now := time.Now()
	big := revoke.NewMemory(n)
	for i := range n {
		_ = big.Revoke(context.Background(), "s"+strconv.Itoa(i), now.Add(time.Hour+time.Duration(i)*time.Millisecond), now)
	}
	b, _ := big.AppendSnapshot(nil, now)
	return b
}

// storeSnapshot saves, as key, a set holding id until until.
func storeSnapshot(t *testing.T, st certmagic.Storage, key, id string, until time.Time) {
	t.Helper()
	m := revoke.NewMemory(10)
	now := time.Now()
	_ = m.Revoke(context.Background(), id, until, now)
	b, _ := m.AppendSnapshot(nil, now)
	if err := st.Store(context.Background(), path.Join(testDir, key), b); err != nil {
		t.Fatal(err)
	}
}

// TestSavedSetsShareStorage: sets sharing Caddy's storage (two instances,
// or two processes with one instance id) take in each other's entries at
// their next sync; a file that is not a saved set is logged once and
// left; a save in progress (a temporary file) is not read.
func TestSavedSetsShareStorage(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	core, logs := observer.New(zapcore.InfoLevel)
	a, sa := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	b, sb := newTestSet(t, st, zap.New(core), time.Hour, 2*time.Second)
	if sa.prefix == sb.prefix {
		t.Fatalf("two sets of one instance share the name %s", sa.prefix)
	}

	_ = a.Revoke(ctx, "ended-on-a", now.Add(time.Hour), now)
	sa.Sync(false)
	storeSnapshot(t, st, "123456", "being-saved", now.Add(time.Hour))
	if err := st.Store(ctx, path.Join(testDir, "junk"+fileExt), []byte("not a set")); err != nil {
		t.Fatal(err)
	}
	sb.Sync(false)
	if ok, _ := b.Revoked(ctx, "ended-on-a", now); !ok {
		t.Fatal("b did not take in the logout a saved")
	}
	if ok, _ := b.Revoked(ctx, "being-saved", now); ok {
		t.Fatal("a temporary file was read")
	}
	_ = b.Revoke(ctx, "ended-on-b", now.Add(time.Hour), now)
	sb.Sync(false)
	sb.Sync(false)
	sa.Sync(false)
	if ok, _ := a.Revoked(ctx, "ended-on-b", now); !ok {
		t.Fatal("a did not take in the logout b saved")
	}
	if n := logs.FilterMessage("could not read saved test entries").Len(); n != 1 {
		t.Fatalf("the junk file was reported %d times, want once: %v", n, logs.All())
	}
	if !st.Exists(ctx, path.Join(testDir, "junk"+fileExt)) {
		t.Fatal("a file that could not be read was deleted")
	}
}

// savedFiles lists the saved sets' files in st.
func savedFiles(t *testing.T, st certmagic.Storage) []string {
	t.Helper()
	keys, err := List(context.Background(), st, testDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if strings.HasSuffix(k, fileExt) {
			out = append(out, k)
		}
	}
	return out
}

// TestSavedSetDeletesWhatItNoLongerNeeds: at its first sync a set deletes
// a file with nothing live left, and the files it read once its own file
// holds them (a restart's predecessor, an earlier generation of another
// set); what they held is still saved. An earlier generation whose later
// one is not a saved set is read and kept.
func TestSavedSetDeletesWhatItNoLongerNeeds(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	storeSnapshot(t, st, "expired-1"+fileExt, "gone", now.Add(20*time.Millisecond))
	storeSnapshot(t, st, "predecessor-1"+fileExt, "old", now.Add(time.Hour))
	storeSnapshot(t, st, "predecessor-2"+fileExt, "kept", now.Add(time.Hour))
	storeSnapshot(t, st, "cut-1"+fileExt, "before-junk", now.Add(time.Hour))
	if err := st.Store(ctx, path.Join(testDir, "cut-2"+fileExt), []byte("LGREVOK1 cut short")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)

	a, sa := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := a.Revoked(ctx, "kept", now); !ok {
		t.Fatal("the predecessor's latest file was not read")
	}

	if ok, _ := a.Revoked(ctx, "before-junk", now); !ok {
		t.Fatal("an earlier generation whose later one is junk was not read")
	}
	files := savedFiles(t, st)
	slices.Sort(files)
	want := []string{path.Join(testDir, "cut-2"+fileExt), sa.own}
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Fatalf("files after the first sync: %v, want only the set's own and the junk", files)
	}
	sa.Close()
	readBack(t, st, "kept", "old", "before-junk")
}

// TestRestartsLeaveOneFile: restart after restart, with and without
// logouts in between, the directory holds one saved file, and old
// temporary files (saves killed mid-write) go too.
func TestRestartsLeaveOneFile(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	old := path.Join(testDir, "98765")
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
	readBack(t, st, "s0", "s2", "s4")
}

// TestFullSetKeepsTheFilesItRead: a set that could not take a file's
// entries in whole (its bound is lower) does not delete that file.
func TestFullSetKeepsTheFilesItRead(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	b := bigSnapshot(3000)
	key := path.Join(testDir, "bigger-1"+fileExt)
	if err := st.Store(ctx, key, b); err != nil {
		t.Fatal(err)
	}
	_, s := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second) // bound 1000
	s.Sync(true)
	if !st.Exists(ctx, key) {
		t.Fatal("a file whose entries did not all fit was deleted")
	}
}

// TestIdleSetsKeepEachOthersFiles: two running sets that hold each
// other's entries and then idle for many syncs never delete both files:
// a later start still reads every entry.
func TestIdleSetsKeepEachOthersFiles(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	const every = 40 * time.Millisecond
	a, sa := newTestSet(t, st, zap.NewNop(), every, 2*time.Second)
	b, sb := newTestSet(t, st, zap.NewNop(), every, 2*time.Second)
	_ = a.Revoke(ctx, "on-a", now.Add(time.Hour), now)
	_ = b.Revoke(ctx, "on-b", now.Add(time.Hour), now)
	for range 2 {
		sa.Sync(true)
		sb.Sync(true)
	}
	time.Sleep(6 * every) // both idle, syncing on their own
	sa.Sync(true)
	sb.Sync(true)
	sa.Close()
	sb.Close()
	if files := savedFiles(t, st); len(files) == 0 {
		t.Fatal("two idle sets deleted each other's files")
	}
	readBack(t, st, "on-a", "on-b")
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
	h := &hangingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	defer close(h.release)
	core, logs := observer.New(zapcore.InfoLevel)
	start := time.Now()
	m, s := newTestSet(t, h, zap.New(core), time.Hour, 200*time.Millisecond) // its first save hangs
	now := time.Now()
	_ = m.Revoke(context.Background(), "x", now.Add(time.Hour), now)
	s.Sync(false) // the first still runs: skipped at once
	s.SaveNow()   // a config's stop: waits its bound, then stays queued
	s.Close()     // the last release: does not wait another bound
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a hanging storage held the syncs and the stop %v", took)
	}
	if n := s.waiting.Load(); n != 1 {
		t.Fatalf("%d saves wait their turn behind the hung one, want the one queued", n)
	}
	if n := h.stores.Load(); n != 1 {
		t.Fatalf("%d saves reached the storage, want the one that hangs", n)
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("may not be saved").Len(); n != 2 {
		t.Fatalf("the saves that may be lost were logged %d times as errors, want 2: %v", n, logs.All())
	}
}

// hungListing does not answer a listing (nor a Store) until released,
// then fails it.
type hungListing struct{ *hangingStorage }

func (h hungListing) List(context.Context, string, bool) ([]string, error) {
	<-h.release
	return nil, errors.New("released")
}

// TestStopDuringAHungRead: a stop whose set's start read still hangs
// (its listing never answered) does not wait another bound for its turn
// behind it: its save is queued, to run once the storage answers, and
// the error names the call that hangs, not the save.
func TestStopDuringAHungRead(t *testing.T) {
	h := hungListing{&hangingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}}
	defer close(h.release)
	core, logs := observer.New(zapcore.InfoLevel)
	// The stop must not wait this long; a second leaves a race-built
	// test on a busy machine room for the work the stop does do.
	const bound = time.Second
	m, s := newTestSet(t, h, zap.New(core), time.Hour, bound) // waits its bound
	if s.Loaded() {
		t.Fatal("a set whose listing hangs is loaded")
	}
	hung := "listing " + testDir
	if n := logs.FilterMessageSnippet("goes on in the background").FilterField(zap.String("hung", hung)).Len(); n != 1 {
		t.Fatalf("the start's wait did not say what hangs: %v", logs.All())
	}
	now := time.Now()
	_ = m.Revoke(context.Background(), "x", now.Add(time.Hour), now)
	began := time.Now()
	s.SaveNow() // a config's stop
	s.Close()   // the last release
	if took := time.Since(began); took >= bound {
		t.Fatalf("the stop waited %v behind the read that hangs (bound %v)", took, bound)
	}
	errs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	if len(errs) != 2 || !strings.Contains(errs[0].Message, hung) {
		t.Fatalf("the stop's error does not name the read that hangs (%q): %v", hung, errs)
	}
	if n := s.waiting.Load(); n != 1 {
		t.Fatalf("%d saves queued behind the read that hangs, want 1", n)
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
	ctx := context.Background()
	q := &quirkyStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	storeSnapshot(t, q, "earlier-1"+fileExt, "ended", time.Now().Add(time.Hour))
	a, sa := newTestSet(t, q, zap.NewNop(), time.Hour, 2*time.Second)
	if ok, _ := a.Revoked(ctx, "ended", time.Now()); !ok {
		t.Fatal("a saved logout was not read at the start")
	}
	b, sb := newTestSet(t, q, zap.NewNop(), time.Hour, 2*time.Second)
	for i := range 3 {
		now := time.Now()
		_ = b.Revoke(ctx, "later"+strconv.Itoa(i), now.Add(time.Hour), now)
		sb.Sync(true)
		sa.Sync(true)
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

// TestNotLoadedUntilTheFirstReadEnds: while a slow storage holds up the
// first read past its bound, the set says it is not loaded (its owner
// then cannot tell whether an entry was saved); once read, it is, with
// the saved entry.
func TestNotLoadedUntilTheFirstReadEnds(t *testing.T) {
	ctx := context.Background()
	st := &slowListing{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, release: make(chan struct{})}
	storeSnapshot(t, st, "earlier-1"+fileExt, "ended", time.Now().Add(time.Hour))
	m, s := newTestSet(t, st, zap.NewNop(), time.Hour, 100*time.Millisecond)
	if s.Loaded() {
		t.Fatal("loaded before the listing answered")
	}
	close(st.release)
	waitFor := time.Now().Add(5 * time.Second)
	for !s.Loaded() && time.Now().Before(waitFor) {
		time.Sleep(10 * time.Millisecond)
	}
	if ok, _ := m.Revoked(ctx, "ended", time.Now()); !ok || !s.Loaded() {
		t.Fatalf("after the read: loaded %v, revoked %v", s.Loaded(), ok)
	}
}

// writeThenFail writes each file and then, the first time, says it
// could not (a network storage timing out after its commit); it records
// every key written.
type writeThenFail struct {
	*certmagic.FileStorage
	failed  atomic.Bool
	written []string
}

func (w *writeThenFail) Store(ctx context.Context, key string, v []byte) error {
	if err := w.FileStorage.Store(ctx, key, v); err != nil {
		return err
	}
	w.written = append(w.written, key)
	if w.failed.CompareAndSwap(false, true) {
		return errors.New("timed out after the commit")
	}
	return nil
}

// TestSaveNeverRewritesAFile: a save the storage wrote but reported
// failed is not written again under the same name with other content
// (another instance may have read it and deleted its own copy).
func TestSaveNeverRewritesAFile(t *testing.T) {
	w := &writeThenFail{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	m, s := newTestSet(t, w, zap.NewNop(), time.Hour, 2*time.Second) // its first save "fails"
	now := time.Now()
	_ = m.Revoke(context.Background(), "x", now.Add(time.Hour), now)
	s.Sync(true)
	s.Close()
	seen := map[string]bool{}
	for _, k := range w.written {
		if seen[k] {
			t.Fatalf("%s written twice: %v", k, w.written)
		}
		seen[k] = true
	}
	if len(w.written) < 2 {
		t.Fatalf("saves: %v", w.written)
	}
}

// failingReads fails listings while listFails is set, and loads while
// loadFails is.
type failingReads struct {
	*certmagic.FileStorage
	listFails, loadFails atomic.Bool
}

func (f *failingReads) List(ctx context.Context, dir string, rec bool) ([]string, error) {
	if f.listFails.Load() {
		return nil, errors.New("storage unavailable")
	}
	return f.FileStorage.List(ctx, dir, rec)
}

func (f *failingReads) Load(ctx context.Context, key string) ([]byte, error) {
	if f.loadFails.Load() {
		return nil, errors.New("storage unavailable")
	}
	return f.FileStorage.Load(ctx, key)
}

// TestNotLoadedAfterAReadThatFailed: a first sync whose listing, or whose
// reading of a file, fails does not make the set loaded; a later sync
// that reads it all does.
func TestNotLoadedAfterAReadThatFailed(t *testing.T) {
	for _, failing := range []string{"list", "load"} {
		t.Run(failing, func(t *testing.T) {
			ctx := context.Background()
			f := &failingReads{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
			storeSnapshot(t, f, "earlier-1"+fileExt, "ended", time.Now().Add(time.Hour))
			map[string]*atomic.Bool{"list": &f.listFails, "load": &f.loadFails}[failing].Store(true)
			m, s := newTestSet(t, f, zap.NewNop(), time.Hour, 2*time.Second)
			if s.Loaded() {
				t.Fatal("loaded after a failed read")
			}
			f.listFails.Store(false)
			f.loadFails.Store(false)
			s.Sync(false)
			if ok, _ := m.Revoked(ctx, "ended", time.Now()); !ok || !s.Loaded() {
				t.Fatalf("after the read: loaded %v, revoked %v", s.Loaded(), ok)
			}
		})
	}
}

// TestJunkGenerationDeletesNothingUnread: a file named as a later
// generation of another set deletes none of that set's files; a set that
// could not take them in whole keeps them; and an old file in the
// directory that is not a save's temporary file is left alone.
func TestJunkGenerationDeletesNothingUnread(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx, now := context.Background(), time.Now()
	b := bigSnapshot(3000)
	victim := path.Join(testDir, "victim-1"+fileExt)
	notes := path.Join(testDir, "notes")
	for key, v := range map[string][]byte{victim: b, path.Join(testDir, "victim-18446744073709551615"+fileExt): []byte("junk"), notes: []byte("an operator's")} {
		if err := st.Store(ctx, key, v); err != nil {
			t.Fatal(err)
		}
	}
	past := now.Add(-time.Hour)
	if err := os.Chtimes(st.Filename(notes), past, past); err != nil {
		t.Fatal(err)
	}
	_, s := newTestSet(t, st, zap.NewNop(), time.Hour, 2*time.Second) // bound 1000: cannot take the victim's whole
	s.Sync(true)
	for _, key := range []string{victim, notes} {
		if !st.Exists(ctx, key) {
			t.Errorf("%s was deleted", key)
		}
	}
}

// vanishingFile replaces the file vanish the first time it is read: its
// owner wrote its next generation and deleted it after the listing.
type vanishingFile struct {
	*certmagic.FileStorage
	vanish, next string
	done         atomic.Bool
}

func (v *vanishingFile) Load(ctx context.Context, key string) ([]byte, error) {
	if key == v.vanish && v.done.CompareAndSwap(false, true) {
		b, err := v.FileStorage.Load(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := v.FileStorage.Store(ctx, v.next, b); err != nil {
			return nil, err
		}
		_ = v.FileStorage.Delete(ctx, key)
	}
	return v.FileStorage.Load(ctx, key)
}

// TestNotLoadedWhileAFileMovedOn: a file gone between the listing and its
// reading was replaced by one the listing does not show: the set is not
// loaded until a sync has read that one.
func TestNotLoadedWhileAFileMovedOn(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	v := &vanishingFile{FileStorage: st, vanish: path.Join(testDir, "other-1"+fileExt), next: path.Join(testDir, "other-2"+fileExt)}
	storeSnapshot(t, st, "other-1"+fileExt, "ended", time.Now().Add(time.Hour))
	m, s := newTestSet(t, v, zap.NewNop(), time.Hour, 2*time.Second)
	if s.Loaded() {
		t.Fatal("loaded without the file that replaced the one listed")
	}
	s.Sync(false)
	if ok, _ := m.Revoked(context.Background(), "ended", time.Now()); !ok || !s.Loaded() {
		t.Fatalf("after the next sync: loaded %v, revoked %v", s.Loaded(), ok)
	}
}

// failingStores fails every Store while fail is set.
type failingStores struct {
	*certmagic.FileStorage
	fail atomic.Bool
}

func (f *failingStores) Store(ctx context.Context, key string, v []byte) error {
	if f.fail.Load() {
		return errors.New("storage unavailable")
	}
	return f.FileStorage.Store(ctx, key, v)
}

// TestEvictedSinceReadKeepsTheFile: a set that took a file in whole and
// then pushed its entries out at its bound (new logouts) before it could
// save does not delete that file: its save no longer holds them.
func TestEvictedSinceReadKeepsTheFile(t *testing.T) {
	f := &failingStores{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	ctx, now := context.Background(), time.Now()
	m, s := newTestSet(t, f, zap.NewNop(), time.Hour, 2*time.Second) // bound 1000
	storeSnapshot(t, f, "other-1"+fileExt, "ends-soon", now.Add(time.Minute))
	for i := range 999 {
		_ = m.Revoke(ctx, "s"+strconv.Itoa(i), now.Add(time.Hour), now)
	}
	f.fail.Store(true)
	s.Sync(true) // reads the file (the set is now full), cannot save
	if ok, _ := m.Revoked(ctx, "ends-soon", now); !ok {
		t.Fatal("the file was not read")
	}
	_ = m.Revoke(ctx, "new", now.Add(time.Hour), now) // pushes "ends-soon" out
	f.fail.Store(false)
	s.Sync(true)
	if !f.Exists(ctx, path.Join(testDir, "other-1"+fileExt)) {
		t.Fatal("a file whose entries the set pushed out since reading it was deleted")
	}
}
