// Package savedset keeps an in-memory set that forgets what expires (the
// sessions ended by a logout) in Caddy's storage too, so it outlives its
// process, and shares it with the instances that share that storage. No
// Caddy: the caller names the instance and gives the storage.
package savedset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/expiry"
)

// A Set keeps an in-memory set of entries (one that forgets what
// expires) in Caddy's storage too, so it outlives its process.
//
// Files are never rewritten: each save writes a new file,
// <instance id>-<random>-<generation>.bin (the random part tells apart
// sets sharing an instance id: instances sharing a data directory, or a
// set made again in one process), and then deletes the set's previous
// one. So a file's name says which version it is, and a file deleted is
// always one that was read as it is (no reliance on modification times,
// which some storages do not keep, or keep coarsely).
//
// A set saves when its owner says (SaveNow: a config stopping; Close: the
// last config letting go of it) and every Config.Every while it changes,
// so a killed process loses at most that much. Each sync first reads in
// every file it has not read yet (at the set's making: all of them, and
// requests wait for that read, see Loaded), so instances sharing storage
// take in each other's entries, then deletes the files it no longer
// needs (see deleteStale): files do not pile up with restarts.
type Set struct {
	set     Entries
	what    string // what the set holds, for log lines
	dir     string
	prefix  string // this set's files: dir/<instance id>-<random>-
	every   time.Duration
	timeout time.Duration // bounds each sync (storage takes no deadline)
	at      atomic.Pointer[Storage]
	stop    chan struct{}
	loaded  chan struct{} // closed once the first sync has read the files
	opened  time.Time     // when the first sync began
	first   chan struct{} // closed once the first sync has finished
	busy    atomic.Pointer[storageCall]
	began   atomic.Int64 // when the sync running began (unix ns)

	waiting   atomic.Int32 // syncs waiting their turn (Sync(true))
	mu        sync.Mutex   // one sync at a time; guards what follows
	syncs     uint64       // syncs run
	storageID string       // the storage own was written to
	own       string       // the set's latest file ("" before its first save)
	gen       uint64       // its generation
	saved     expiry.Mark
	savedSync uint64 // the sync that wrote own
	seen      map[string]seenFile
}

// Entries is what a Set saves (revoke.Memory).
type Entries interface {
	AppendSnapshot(b []byte, now time.Time) ([]byte, expiry.Mark)
	Merge(b []byte, now time.Time) (added int, until time.Time, err error)
	Changes() uint64
	Evicted() uint64
}

// Storage is where a set is saved: the storage and logger of the config
// that holds it (a reload may change the storage).
type Storage struct {
	St Files
	// ID tells storages apart across reloads, which provision a new
	// storage value each time: a Set that finds another ID reads all of
	// its files and writes the whole set there.
	ID     string
	Logger *zap.Logger
}

// Files is what a Set needs of Caddy's storage: certmagic.Storage's
// calls, with its Stat as Modified.
type Files interface {
	Lister
	Store(ctx context.Context, key string, value []byte) error
	Load(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	// Modified says when key was last written, and whether it is a file
	// (not a directory).
	Modified(ctx context.Context, key string) (at time.Time, file bool, err error)
}

// Lister lists a storage directory (certmagic.Storage is one).
type Lister interface {
	List(ctx context.Context, path string, recursive bool) ([]string, error)
	Exists(ctx context.Context, key string) bool
}

// Config says what a Set saves, where and how often.
type Config struct {
	What     string // what the entries are, for log lines
	Dir      string // the storage directory of the saved files
	Instance string // names this instance's files (Caddy's instance id)
	// Every is how often a sync runs; Timeout bounds each (storage takes
	// no deadline).
	Every, Timeout time.Duration
}

// storageCall is the storage call a sync waits on, and since when.
type storageCall struct {
	doing string
	since time.Time
}

// seenFile is another set's file as a sync read it.
type seenFile struct {
	readSync uint64
	until    time.Time // when its last entry expires; zero: none was live
	evicted  uint64    // the set's evictions just after merging it
	lossy    bool      // merging it pushed entries out (the set is full)
	// unreadable: not a saved set; not read again until it changes name,
	// left for the operator.
	unreadable bool
}

const fileExt = ".bin"

// tempAge is how old a file without the extension (a save's
// temporary file, left by a process killed mid-write) must be before a
// sync deletes it.
const tempAge = 10 * time.Minute

// New reads the saved files from at into set (waiting at most
// cfg.Timeout) and starts the syncs; Close ends them.
func New(set Entries, cfg Config, at *Storage) *Set {
	s := Open(set, cfg, at)
	s.WaitRead()
	return s
}

// Open is New without the wait: it starts reading the saved files from at
// into set and returns. WaitRead waits for that read; a start making
// several sets opens them all, then waits, so a storage that hangs holds
// it up for one bound, not one a set.
func Open(set Entries, cfg Config, at *Storage) *Set {
	s := &Set{
		set: set, what: cfg.What, dir: cfg.Dir, every: cfg.Every, timeout: cfg.Timeout,
		prefix: path.Join(cfg.Dir, cfg.Instance+"-"+RandomName()+"-"),
		seen:   map[string]seenFile{}, stop: make(chan struct{}), loaded: make(chan struct{}),
		opened: time.Now(), first: make(chan struct{}),
	}
	s.at.Store(at)
	// The first sync's turn is taken here, before any other sync's.
	s.mu.Lock()
	go func() {
		defer close(s.first)
		defer s.mu.Unlock()
		s.sync(at, s.opened)
	}()
	go s.syncEvery()
	return s
}

// WaitRead waits for the read Open started, at most until cfg.Timeout
// after it began, and reports whether it finished. One that did not goes
// on in the background (logged): until it is done, Loaded is false.
func (s *Set) WaitRead() bool {
	t := time.NewTimer(time.Until(s.opened.Add(s.timeout)))
	defer t.Stop()
	select {
	case <-s.first:
		return true
	case <-t.C:
	}
	fields := []zap.Field{zap.Duration("waited", time.Since(s.opened))}
	if c := s.busy.Load(); c != nil {
		fields = append(fields, zap.String("hung", c.doing))
	}
	s.at.Load().Logger.Warn("reading the saved "+s.what+" goes on in the background; until it is done, they cannot be told", fields...)
	return false
}

// Loaded reports whether the saved files have been read: until then a
// session cannot be known not to have ended.
func (s *Set) Loaded() bool {
	select {
	case <-s.loaded:
		return true
	default:
		return false
	}
}

// Move makes at the storage the set is saved in from the next sync on
// (which then reads that storage's files and writes the whole set there).
func (s *Set) Move(at *Storage) { s.at.Store(at) }

// loadRetry is how soon a sync is tried again while the start's
// read of the saved files has not succeeded (sessions wait for it).
const loadRetry = 2 * time.Second

func (s *Set) syncEvery() {
	for {
		wait := s.every
		if !s.Loaded() {
			wait = min(wait, loadRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
			s.Sync(false)
		}
	}
}

// Close saves the set a last time (its last config let go of it: a stop,
// or a reload to another store) and ends the syncs. A save that does not
// finish within the bound is logged as possibly lost: at a stop the
// process may exit first.
func (s *Set) Close() {
	close(s.stop)
	s.SaveNow()
}

// SaveNow syncs now, waiting its turn, and logs it as an error when the
// storage did not finish in time (a process stopping may exit before),
// naming the storage call that hangs.
func (s *Set) SaveNow() {
	const lost = "; a restart may forget those since the last save"
	if s.waiting.Load() > 0 {
		// An earlier save that waited its turn is still waiting on the
		// storage: it saves everything once the storage answers, so this
		// one does not wait another bound behind it.
		s.at.Load().Logger.Error(s.what+" may not be saved: storage has not answered an earlier save"+lost, s.hung()...)
		return
	}
	if c := s.busy.Load(); c != nil && time.Since(time.Unix(0, s.began.Load())) >= s.timeout {
		// The sync running (the start's read, say) has hung a whole
		// bound already: waiting another for its turn would only hold
		// the stop up. The save is queued behind it, to run once the
		// storage answers.
		s.queueSave()
		s.at.Load().Logger.Error(s.what+" may not be saved: storage has not answered "+c.doing+lost, s.hung()...)
		return
	}
	if !s.Sync(true) {
		s.at.Load().Logger.Error(s.what+" may not be saved: storage did not answer in time"+lost,
			append(s.hung(), zap.Duration("waited", s.timeout))...)
	}
}

// hung names the storage call a sync waits on, and for how long.
func (s *Set) hung() []zap.Field {
	c := s.busy.Load()
	if c == nil {
		return nil
	}
	return []zap.Field{zap.String("hung", c.doing), zap.Duration("for", time.Since(c.since))}
}

// queueSave runs a sync once the one running is done, without waiting.
func (s *Set) queueSave() {
	s.waiting.Add(1)
	go func() {
		s.mu.Lock()
		s.waiting.Add(-1)
		defer s.mu.Unlock()
		s.sync(s.at.Load(), time.Now())
	}()
}

// calling records the storage call a sync makes next (nil: none).
func (s *Set) calling(doing string) {
	if doing == "" {
		s.busy.Store(nil)
		return
	}
	s.busy.Store(&storageCall{doing: doing, since: time.Now()})
}

// Sync runs a sync, waiting at most s.timeout for it (its turn
// included) and reporting whether it finished. Unless told to wait its
// turn, it skips the sync while an earlier one still runs, so a storage
// that hangs gets one call at a time.
func (s *Set) Sync(wait bool) bool {
	if !wait && !s.mu.TryLock() {
		return false
	}
	if wait {
		s.waiting.Add(1)
	}
	err := Within(s.timeout, func() error {
		if wait {
			s.mu.Lock()
			s.waiting.Add(-1)
		}
		defer s.mu.Unlock()
		// Read under the lock: a sync that waited its turn saves where
		// the set is kept now, not where it was when it was asked for.
		s.sync(s.at.Load(), time.Now())
		return nil
	})
	if err != nil && !wait {
		s.at.Load().Logger.Warn("saving or reading "+s.what+" goes on in the background", zap.Error(err))
	}
	return err == nil
}

// sync reads in the files it has not read, saves the set if it changed
// since it was last saved (or the storage did), then deletes the files
// it no longer needs. It began at began (its turn taken). s.mu is held.
func (s *Set) sync(at *Storage, began time.Time) {
	ctx := context.Background()
	s.began.Store(began.UnixNano())
	defer s.calling("")
	s.syncs++
	if id := at.ID; id != s.storageID {
		// Another storage: read all of its files, write the whole set.
		s.seen, s.own, s.storageID = map[string]seenFile{}, "", id
	}
	now := time.Now()
	keys, complete := s.readNew(ctx, at, now)
	if complete {
		s.markLoaded()
	}
	if s.own == "" || s.set.Changes() != s.saved.Changes {
		if !s.save(ctx, at, now) {
			return
		}
	}
	if keys != nil {
		s.deleteStale(ctx, at, keys, now)
	}
}

func (s *Set) markLoaded() {
	select {
	case <-s.loaded:
	default:
		close(s.loaded)
	}
}

// save writes the set as its next generation and deletes the previous
// one. s.mu is held.
func (s *Set) save(ctx context.Context, at *Storage, now time.Time) bool {
	snap, mark := s.set.AppendSnapshot(nil, now)
	// The generation is used up before the write: a storage that wrote
	// the file and then failed must not have it written again with other
	// content (a file read is taken to be the file deleted).
	s.gen++
	key := s.prefix + strconv.FormatUint(s.gen, 10) + fileExt
	s.calling("writing " + key)
	if err := at.St.Store(ctx, key, snap); err != nil {
		at.Logger.Error("could not save "+s.what+": a restart now forgets those since the last save", zap.Error(err))
		return false
	}
	prev := s.own
	s.own, s.saved, s.savedSync = key, mark, s.syncs
	if prev != "" {
		s.calling("deleting " + prev)
		if err := at.St.Delete(ctx, prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			at.Logger.Warn("could not delete the previous save of "+s.what, zap.String("key", prev), zap.Error(err))
		}
	}
	return true
}

// readNew merges every other set's file not read yet (an earlier
// generation too: its owner may have been killed before deleting it, and
// its later one may not be whole), and returns the directory's keys
// (nil when it could not be listed), and whether every file there was
// read or found not to be a saved set. s.mu is held.
func (s *Set) readNew(ctx context.Context, at *Storage, now time.Time) (keys []string, complete bool) {
	s.calling("listing " + s.dir)
	keys, err := List(ctx, at.St, s.dir)
	if err != nil {
		at.Logger.Warn("could not list the saved "+s.what, zap.Error(err))
		return nil, false
	}
	if keys == nil {
		keys = []string{}
	}
	complete = true
	for _, key := range keys {
		if _, ok := s.seen[key]; ok || strings.HasPrefix(key, s.prefix) || !strings.HasSuffix(key, fileExt) {
			continue
		}
		s.calling("reading " + key)
		b, err := at.St.Load(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			// Gone since the listing: replaced by a later file (its
			// owner's next generation, or a set that took it in) this
			// listing does not show. Read that at the next sync first.
			complete = false
			continue
		}
		if err != nil {
			at.Logger.Warn("could not read saved "+s.what, zap.String("key", key), zap.Error(err))
			complete = false
			continue
		}
		before := s.set.Evicted()
		added, until, err := s.set.Merge(b, now)
		if err != nil {
			s.seen[key] = seenFile{readSync: s.syncs, until: now.Add(100 * 365 * 24 * time.Hour), lossy: true, unreadable: true}
			at.Logger.Warn("could not read saved "+s.what, zap.String("key", key), zap.Error(err))
			continue
		}
		after := s.set.Evicted()
		s.seen[key] = seenFile{readSync: s.syncs, until: until, evicted: after, lossy: after != before}
		if added > 0 {
			at.Logger.Info(s.what+" read from storage", zap.String("key", key), zap.Int("entries", added))
		}
	}
	return keys, complete
}

// deleteStale deletes the files this set no longer needs: of other sets,
// those with nothing live left, and those it read that its own latest
// file holds (saved at or after the read, with nothing pushed out of the
// set since: a full set keeps the files it read until they expire); of
// its own, the earlier generations (its latest holds what they held).
// Files are never written twice under one name, so what is deleted is
// what was read, and a chain of "holds" always ends at a file written
// later, which stays. A save's temporary file left by a kill mid-write
// is deleted once old. s.mu is held.
func (s *Set) deleteStale(ctx context.Context, at *Storage, keys []string, now time.Time) {
	present := make(map[string]bool, len(keys))
	for _, key := range keys {
		present[key] = true
		if key == s.own {
			continue
		}
		if !strings.HasSuffix(key, fileExt) {
			s.deleteTemporary(ctx, at, key, now)
			continue
		}
		f, read := s.seen[key]
		expired := read && !now.Before(f.until)
		held := read && !f.lossy && s.own != "" && s.savedSync >= f.readSync && s.saved.Evicted == f.evicted
		ownEarlier := s.own != "" && strings.HasPrefix(key, s.prefix)
		if !expired && !held && !ownEarlier {
			continue
		}
		s.calling("deleting " + key)
		if err := at.St.Delete(ctx, key); err == nil || errors.Is(err, fs.ErrNotExist) {
			delete(s.seen, key)
		}
	}
	for key := range s.seen {
		if !present[key] {
			delete(s.seen, key) // deleted by someone else
		}
	}
}

// deleteTemporary deletes key if it is an old temporary file of a save
// (certmagic's file storage names them with digits only); nothing else
// in the directory is touched.
func (s *Set) deleteTemporary(ctx context.Context, at *Storage, key string, now time.Time) {
	base := path.Base(key)
	if strings.Trim(base, "0123456789") != "" {
		return
	}
	s.calling("looking at " + key)
	modified, file, err := at.St.Modified(ctx, key)
	if err == nil && file && !modified.IsZero() && now.Sub(modified) > tempAge {
		_ = at.St.Delete(ctx, key)
	}
}

// List lists the keys under dir; none if dir does not exist.
func List(ctx context.Context, st Lister, dir string) ([]string, error) {
	keys, err := st.List(ctx, dir, false)
	// A file going away mid-listing (another instance saving or
	// deleting) fails the whole listing as not found: list again while
	// the directory is there.
	for try := 0; errors.Is(err, fs.ErrNotExist) && try < 3 && st.Exists(ctx, dir); try++ {
		keys, err = st.List(ctx, dir, false)
	}
	if errors.Is(err, fs.ErrNotExist) && !st.Exists(ctx, dir) {
		return nil, nil
	}
	return keys, err
}

// RandomName is 16 random hex digits, for storage keys no other instance
// writes.
func RandomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrTimedOut: a storage call did not return within its bound.
var ErrTimedOut = errors.New("storage did not answer in time")

// Within runs f and waits at most d for it; f goes on after a timeout.
func Within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return ErrTimedOut
	}
}
