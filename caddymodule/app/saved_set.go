package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/revoke"
)

// A savedSet keeps an in-memory set (one that forgets what expires) in
// Caddy's storage too, so it outlives its process.
//
// Files are never rewritten: each save writes a new file,
// <instance id>-<random>-<generation>.bin (the random part tells apart
// sets sharing an instance id: instances sharing a data directory, or a
// set made again in one process), and then deletes the set's previous
// one. So a file's name says which version it is, and a file deleted is
// always one that was read as it is (no reliance on modification times,
// which some storages do not keep, or keep coarsely).
//
// A set saves when its last config lets go of it (a stop), when a config
// stops (a reload: see App.Stop), and every `every` while it changes, so
// a killed process loses at most that much. Each sync first reads in
// every file it has not read yet (at the set's making: all of them, and
// requests wait for that read, see Loaded), so instances sharing storage
// take in each other's entries, then deletes the files it no longer
// needs (see deleteStale): files do not pile up with restarts.
type savedSet struct {
	set     snapshotSet
	what    string // what the set holds, for log lines
	dir     string
	prefix  string // this set's files: dir/<instance id>-<random>-
	every   time.Duration
	timeout time.Duration // bounds each sync (storage takes no deadline)
	at      atomic.Pointer[storageAt]
	stop    chan struct{}
	loaded  chan struct{} // closed once the first sync has read the files

	mu        sync.Mutex // one sync at a time; guards what follows
	syncs     uint64     // syncs run
	storageID string     // the storage own was written to
	own       string     // the set's latest file ("" before its first save)
	gen       uint64     // its generation
	saved     revoke.Mark
	savedSync uint64 // the sync that wrote own
	seen      map[string]seenFile
}

// snapshotSet is what a savedSet saves (revoke.Memory).
type snapshotSet interface {
	AppendSnapshot(b []byte, now time.Time) ([]byte, revoke.Mark)
	Merge(b []byte, now time.Time) (added int, until time.Time, err error)
	Changes() uint64
	Evicted() uint64
}

// storageAt is where a set is saved: the storage and logger of the config
// that holds it (a reload may change the storage).
type storageAt struct {
	st     certmagic.Storage
	logger *zap.Logger
}

// seenFile is another set's file as a sync read it.
type seenFile struct {
	readSync uint64
	until    time.Time // when its last entry expires; zero: none was live
	evicted  uint64    // the set's evictions just after merging it
	lossy    bool      // merging it pushed entries out (the set is full)
}

const savedSetExt = ".bin"

// savedSetTempAge is how old a file without the extension (a save's
// temporary file, left by a process killed mid-write) must be before a
// sync deletes it.
const savedSetTempAge = 10 * time.Minute

// newSavedSet reads the set's files from at into set (waiting at most
// timeout) and starts its syncs; Close ends them.
func newSavedSet(set snapshotSet, what, dir string, at *storageAt, every, timeout time.Duration) *savedSet {
	s := &savedSet{
		set: set, what: what, dir: dir, every: every, timeout: timeout,
		prefix: path.Join(dir, processName()+"-"+randomName()+"-"),
		seen:   map[string]seenFile{}, stop: make(chan struct{}), loaded: make(chan struct{}),
	}
	s.at.Store(at)
	if !s.syncBounded(true) {
		at.logger.Warn("reading the saved "+what+" goes on after the start; until it is done, guard sessions are not accepted",
			zap.Duration("waited", timeout))
	}
	go s.syncEvery()
	return s
}

// Loaded reports whether the saved files have been read: until then a
// session cannot be known not to have ended.
func (s *savedSet) Loaded() bool {
	select {
	case <-s.loaded:
		return true
	default:
		return false
	}
}

// processName is Caddy's instance id, which stays the same across
// restarts with the same data directory (so an operator can tell whose
// file is whose); "caddy" if Caddy cannot say.
func processName() string {
	if id, err := caddy.InstanceID(); err == nil {
		return id.String()
	}
	return "caddy"
}

// randomName is 16 random hex digits, for storage keys no other instance
// writes.
func randomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// storageIdentity tells storages apart across reloads, which provision a
// new storage value each time: its type and its description (certmagic's
// storages describe where they keep things).
func storageIdentity(st certmagic.Storage) string {
	if d, ok := st.(fmt.Stringer); ok {
		return fmt.Sprintf("%T %s", st, d.String())
	}
	return fmt.Sprintf("%T %v", st, st)
}

// Move makes at the storage the set is saved in from the next sync on
// (which then reads that storage's files and writes the whole set there).
func (s *savedSet) Move(at *storageAt) { s.at.Store(at) }

func (s *savedSet) syncEvery() {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.syncBounded(false)
		}
	}
}

// Close saves the set a last time (its last config let go of it: a stop,
// or a reload to another store) and ends the syncs. A save that does not
// finish within the bound is logged as possibly lost: at a stop the
// process may exit first.
func (s *savedSet) Close() {
	close(s.stop)
	if !s.syncBounded(true) {
		s.at.Load().logger.Error(s.what+" may not be saved: storage did not answer in time; a restart may forget those since the last save",
			zap.Duration("waited", s.timeout))
	}
}

// syncBounded runs a sync, waiting at most s.timeout for it (its turn
// included) and reporting whether it finished. Unless told to wait its
// turn, it skips the sync while an earlier one still runs, so a storage
// that hangs gets one call at a time.
func (s *savedSet) syncBounded(wait bool) bool {
	if !wait && !s.mu.TryLock() {
		return false
	}
	at := s.at.Load()
	err := within(s.timeout, func() error {
		if wait {
			s.mu.Lock()
		}
		defer s.mu.Unlock()
		s.sync(at)
		return nil
	})
	if err != nil && !wait {
		at.logger.Warn("saving or reading "+s.what+" goes on in the background", zap.Error(err))
	}
	return err == nil
}

// sync reads in the files it has not read, saves the set if it changed
// since it was last saved (or the storage did), then deletes the files
// it no longer needs. s.mu is held.
func (s *savedSet) sync(at *storageAt) {
	ctx := context.Background()
	s.syncs++
	if id := storageIdentity(at.st); id != s.storageID {
		// Another storage: read all of its files, write the whole set.
		s.seen, s.own, s.storageID = map[string]seenFile{}, "", id
	}
	now := time.Now()
	keys, listed := s.readNew(ctx, at, now)
	s.markLoaded()
	if s.own == "" || s.set.Changes() != s.saved.Changes {
		if !s.save(ctx, at, now) {
			return
		}
	}
	if listed {
		s.deleteStale(ctx, at, keys, now)
	}
}

func (s *savedSet) markLoaded() {
	select {
	case <-s.loaded:
	default:
		close(s.loaded)
	}
}

// save writes the set as its next generation and deletes the previous
// one. s.mu is held.
func (s *savedSet) save(ctx context.Context, at *storageAt, now time.Time) bool {
	snap, mark := s.set.AppendSnapshot(nil, now)
	key := s.prefix + strconv.FormatUint(s.gen+1, 10) + savedSetExt
	if err := at.st.Store(ctx, key, snap); err != nil {
		at.logger.Error("could not save "+s.what+": a restart now forgets those since the last save", zap.Error(err))
		return false
	}
	prev := s.own
	s.gen++
	s.own, s.saved, s.savedSync = key, mark, s.syncs
	if prev != "" {
		if err := at.st.Delete(ctx, prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			at.logger.Warn("could not delete the previous save of "+s.what, zap.String("key", prev), zap.Error(err))
		}
	}
	return true
}

// readNew merges every other set's file not read yet, and returns the
// directory's keys (listed false when it could not be listed). Of one
// set's files only the latest generation is read. s.mu is held.
func (s *savedSet) readNew(ctx context.Context, at *storageAt, now time.Time) (keys []string, listed bool) {
	keys, err := listStored(ctx, at.st, s.dir)
	if err != nil {
		at.logger.Warn("could not list the saved "+s.what, zap.Error(err))
		return nil, false
	}
	latest := latestGenerations(keys)
	for _, key := range keys {
		if _, ok := s.seen[key]; ok || strings.HasPrefix(key, s.prefix) || !latest[key] {
			continue
		}
		b, err := at.st.Load(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			at.logger.Warn("could not read saved "+s.what, zap.String("key", key), zap.Error(err))
			continue
		}
		before := s.set.Evicted()
		added, until, err := s.set.Merge(b, now)
		if err != nil {
			// Not read again until it changes name; left for the operator.
			s.seen[key] = seenFile{readSync: s.syncs, until: now.Add(100 * 365 * 24 * time.Hour), lossy: true}
			at.logger.Warn("could not read saved "+s.what, zap.String("key", key), zap.Error(err))
			continue
		}
		after := s.set.Evicted()
		s.seen[key] = seenFile{readSync: s.syncs, until: until, evicted: after, lossy: after != before}
		if added > 0 {
			at.logger.Info(s.what+" read from storage", zap.String("key", key), zap.Int("entries", added))
		}
	}
	return keys, true
}

// latestGenerations marks, of the saved files among keys, the latest
// generation of each set (and any file whose name carries none).
func latestGenerations(keys []string) map[string]bool {
	best := map[string]uint64{}
	bestKey := map[string]string{}
	out := map[string]bool{}
	for _, key := range keys {
		name, ok := strings.CutSuffix(key, savedSetExt)
		if !ok {
			continue
		}
		i := strings.LastIndexByte(name, '-')
		gen, err := strconv.ParseUint(name[i+1:], 10, 64)
		if i < 0 || err != nil {
			out[key] = true
			continue
		}
		set := name[:i]
		if g, ok := best[set]; !ok || gen > g {
			best[set], bestKey[set] = gen, key
		}
	}
	for _, key := range bestKey {
		out[key] = true
	}
	return out
}

// deleteStale deletes, of the other sets' files, those this set no longer
// needs: those with nothing live left; those it read that its own latest
// file holds (saved at or after the read, with nothing pushed out of the
// set since: a full set keeps the files it read until they expire); and
// a set's earlier generations its owner did not get to delete (killed
// between its save and the delete). Files never change once written, so
// what is deleted is what was read. Two sets never delete each other's
// latest files: each would have had to save after reading the other's,
// which was written after its writer read the first one's. A file left
// by a save killed mid-write is deleted once old. s.mu is held.
func (s *savedSet) deleteStale(ctx context.Context, at *storageAt, keys []string, now time.Time) {
	latest := latestGenerations(keys)
	present := make(map[string]bool, len(keys))
	for _, key := range keys {
		present[key] = true
		if key == s.own {
			continue
		}
		if !strings.HasSuffix(key, savedSetExt) {
			if info, err := at.st.Stat(ctx, key); err == nil && !info.Modified.IsZero() && now.Sub(info.Modified) > savedSetTempAge {
				_ = at.st.Delete(ctx, key)
			}
			continue
		}
		f, read := s.seen[key]
		expired := read && !now.Before(f.until)
		held := read && !f.lossy && s.own != "" && s.savedSync >= f.readSync && s.saved.Evicted == f.evicted
		superseded := !latest[key]
		if !expired && !held && !superseded {
			continue
		}
		if err := at.st.Delete(ctx, key); err == nil || errors.Is(err, fs.ErrNotExist) {
			delete(s.seen, key)
		}
	}
	for key := range s.seen {
		if !present[key] {
			delete(s.seen, key) // deleted by someone else
		}
	}
}

// listStored lists the keys under dir; none if dir does not exist.
func listStored(ctx context.Context, st certmagic.Storage, dir string) ([]string, error) {
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
