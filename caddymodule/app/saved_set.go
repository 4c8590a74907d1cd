package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// A savedSet keeps an in-memory set (one that forgets what expires) in
// Caddy's storage too, so it outlives its process. The set is saved as
// one file under its directory, named by Caddy's instance id and a random
// part of its own (instances sharing a data directory share an instance
// id; a set made again in the same process must not overwrite what an
// earlier one may still be saving), when its last config lets go of it
// and every `every` while it changes, so a killed process loses at most
// that much. Each sync first reads in every file of the directory
// changed since it last looked (at the set's making: all of them), so
// instances sharing storage take in each other's entries, then deletes
// the files it no longer needs (see deleteStale), so files do not pile
// up with restarts.
type savedSet struct {
	set     snapshotSet
	what    string // what the set holds, for log lines
	dir     string
	file    string // this set's file under dir
	every   time.Duration
	timeout time.Duration // bounds each sync (storage takes no deadline)
	at      atomic.Pointer[storageAt]
	stop    chan struct{}

	mu      sync.Mutex // one sync at a time; guards what follows
	lastAt  *storageAt // where the own file was last written
	saved   uint64     // the set's change count the own file holds
	savedAt time.Time  // when it was written, by this process's clock
	seen    map[string]seenFile
}

// snapshotSet is what a savedSet saves (revoke.Memory).
type snapshotSet interface {
	AppendSnapshot(b []byte, now time.Time) ([]byte, uint64)
	Merge(b []byte, now time.Time) (added int, until time.Time, err error)
	Changes() uint64
}

// storageAt is where a set is saved: the storage and logger of the config
// that holds it (a reload may change the storage).
type storageAt struct {
	st     certmagic.Storage
	logger *zap.Logger
}

const savedSetExt = ".bin"

// newSavedSet reads the set's files from at into set (waiting at most
// timeout) and starts its syncs; Close ends them.
func newSavedSet(set snapshotSet, what, dir string, at *storageAt, every, timeout time.Duration) *savedSet {
	s := &savedSet{
		set: set, what: what, dir: dir, every: every, timeout: timeout,
		file: path.Join(dir, processName()+"-"+randomName()+savedSetExt),
		seen: map[string]seenFile{}, stop: make(chan struct{}),
	}
	s.at.Store(at)
	s.syncBounded(true)
	go s.syncEvery()
	return s
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

// sync reads in the files changed since it last looked, saves the set if
// it changed since it was last saved (or the storage did), then deletes
// the files it no longer needs. s.mu is held.
func (s *savedSet) sync(at *storageAt) {
	ctx := context.Background()
	if at != s.lastAt {
		// Another storage: read all of its files, write the whole set.
		s.seen, s.lastAt, s.savedAt = map[string]seenFile{}, nil, time.Time{}
	}
	now := time.Now()
	s.readChanged(ctx, at, now)
	if s.lastAt == nil || s.set.Changes() != s.saved {
		snap, changes := s.set.AppendSnapshot(nil, now)
		if err := at.st.Store(ctx, s.file, snap); err != nil {
			at.logger.Error("could not save "+s.what+": a restart now forgets those since the last save", zap.Error(err))
			return
		}
		s.lastAt, s.saved, s.savedAt = at, changes, now
	}
	s.deleteStale(ctx, at, now)
}

// seenFile is another file as a sync last read it.
type seenFile struct {
	modified time.Time // by the storage's clock
	until    time.Time // when its last entry expires; zero: none was live
	readAt   time.Time // by this process's clock
}

// readChanged merges every other file modified since it was last read.
// s.mu is held.
func (s *savedSet) readChanged(ctx context.Context, at *storageAt, now time.Time) {
	keys, err := listStored(ctx, at.st, s.dir)
	if err != nil {
		at.logger.Warn("could not list the saved "+s.what, zap.Error(err))
		return
	}
	for _, key := range keys {
		// Only whole files: an atomic write's temporary file is listed
		// too while another instance saves.
		if key == s.file || !strings.HasSuffix(key, savedSetExt) {
			continue
		}
		info, err := at.st.Stat(ctx, key)
		if err != nil {
			continue
		}
		if f, ok := s.seen[key]; ok && f.modified.Equal(info.Modified) {
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
		added, until, err := s.set.Merge(b, now)
		if err != nil {
			at.logger.Warn("could not read saved "+s.what, zap.String("key", key), zap.Error(err))
			continue
		}
		s.seen[key] = seenFile{modified: info.Modified, until: until, readAt: now}
		if added > 0 {
			at.logger.Info(s.what+" read from storage", zap.String("key", key), zap.Int("entries", added))
		}
	}
}

// deleteStale deletes the other files this set has read and no longer
// needs: those with nothing live left, and those its own file holds (it
// was saved after they were read) that nobody has written for two syncs.
// A file written again since it was read stays. So two sets never delete
// each other's files: each would have had to save after reading the
// other's file as it is, which was itself written after its writer read
// the first one's. s.mu is held.
func (s *savedSet) deleteStale(ctx context.Context, at *storageAt, now time.Time) {
	for key, f := range s.seen {
		expired := !now.Before(f.until)
		held := s.savedAt.After(f.readAt) && now.Sub(f.modified) >= 2*s.every
		if !expired && !held {
			continue
		}
		info, err := at.st.Stat(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			delete(s.seen, key)
			continue
		}
		if err != nil || !info.Modified.Equal(f.modified) {
			continue
		}
		if err := at.st.Delete(ctx, key); err == nil {
			delete(s.seen, key)
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
