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

	"github.com/login-guard/login_guard/internal/revoke"
)

// Bounds of session.max_revocations.
const (
	minRevocations = 1_000
	maxRevocations = 10_000_000
)

// revocationsPool keeps the sessions ended by a logout across reloads:
// a reload must not make a logged-out cookie count again. There is one
// set a process, whatever max_revocations says (the config that started
// last sets its bound), so a reload that changes the bound keeps what the
// set holds. The set sits behind revoke.Set, so a shared store can take
// its place.
var revocationsPool = caddy.NewUsagePool()

const revocationsKey = "login_guard.revocations"

// The set also outlives the process, in Caddy's storage: a stolen cookie
// logged out before a restart (a deploy) must not be a session again
// after it. Each process saves its set under revocationsDir as one file
// named by Caddy's instance id, when the last config lets go of the set
// (a stop) and every revocationsSyncEvery while it has changed (so a
// killed process loses at most that much). Every file there is read
// into the set when it is made (a start), and each one another process
// changed is read again at each sync: instances sharing storage take in
// each other's logouts within a sync.
const (
	revocationsDir       = "login_guard/revocations"
	revocationsFileExt   = ".bin"
	revocationsSyncEvery = time.Minute
	// revocationsTimeout bounds each sync (Caddy's file storage takes no
	// deadline): one not done in time goes on in the background and is
	// logged; the next waits for it.
	revocationsTimeout = 10 * time.Second
)

// savedRevocations is the pooled set and what saves it.
type savedRevocations struct {
	*revoke.Memory
	// at is where the set is saved: the storage and logger of the config
	// that took the set last (a reload may change the storage).
	at      atomic.Pointer[revocationsStorage]
	own     string // this process's file
	timeout time.Duration
	stop    chan struct{}
	done    chan struct{}

	mu    sync.Mutex           // one sync at a time; guards what follows
	saved uint64               // the set's change count the own file holds
	seen  map[string]time.Time // files read, by their modification time
}

type revocationsStorage struct {
	st     certmagic.Storage
	logger *zap.Logger
}

// acquireRevocations takes the process's set, making it (and reading the
// saved files into it) when no config holds it. With st nil nothing is
// read or saved.
func acquireRevocations(max int, st certmagic.Storage, logger *zap.Logger) revoke.Set {
	at := &revocationsStorage{st: st, logger: logger}
	v, loaded, _ := revocationsPool.LoadOrNew(revocationsKey, func() (caddy.Destructor, error) {
		return newSavedRevocations(max, at, processName(), revocationsSyncEvery, revocationsTimeout), nil
	})
	s := v.(*savedRevocations)
	if loaded {
		s.Memory.SetMax(max)
		if st != nil {
			s.at.Store(at)
		}
	}
	return s.Memory
}

func releaseRevocations() { _, _ = revocationsPool.Delete(revocationsKey) }

// releaseRevocations gives back the pooled set this config took in Start,
// once.
func (a *App) releaseRevocations() {
	if a.rt != nil && a.rt.revocationsHeld {
		a.rt.revocationsHeld = false
		releaseRevocations()
	}
}

// newSavedRevocations makes the set, saved as own (a file name) every
// every, each sync bounded by timeout.
func newSavedRevocations(max int, at *revocationsStorage, own string, every, timeout time.Duration) *savedRevocations {
	s := &savedRevocations{Memory: revoke.NewMemory(max), seen: map[string]time.Time{}, timeout: timeout}
	if at.st == nil {
		return s
	}
	s.at.Store(at)
	s.own = path.Join(revocationsDir, own+revocationsFileExt)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.syncBounded(true)
	go s.syncEvery(every)
	return s
}

// processName names this process's file: Caddy's instance id, which stays
// the same across restarts with the same data directory; a random one if
// Caddy cannot say (the file is then read at the next start all the same).
func processName() string {
	if id, err := caddy.InstanceID(); err == nil {
		return id.String()
	}
	return randomName()
}

// randomName is 16 random hex digits, for storage keys no other instance
// writes.
func randomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *savedRevocations) syncEvery(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
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

// Destruct saves the set a last time: the last config let go of it (a
// stop, or a reload to store redis). The set itself is left as it is for
// requests of the old config that still read it.
func (s *savedRevocations) Destruct() error {
	if s.stop == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.syncBounded(true)
	return nil
}

// syncBounded runs a sync, waiting at most s.timeout for it.
// Unless told to wait its turn, it skips the sync while an earlier one
// still runs (a storage that hangs gets one call at a time).
func (s *savedRevocations) syncBounded(wait bool) {
	if !wait && !s.mu.TryLock() {
		return
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
	if err != nil {
		at.logger.Warn("saving or reading the sessions ended by a logout goes on in the background", zap.Error(err))
	}
}

// sync reads in the files changed since it last looked, then saves the
// set if it changed since it was last saved. s.mu is held.
func (s *savedRevocations) sync(at *revocationsStorage) {
	ctx := context.Background()
	now := time.Now()
	s.readChanged(ctx, at, now)
	if s.Changes() == s.saved {
		return
	}
	snap, changes := s.AppendSnapshot(nil, now)
	if err := at.st.Store(ctx, s.own, snap); err != nil {
		at.logger.Error("could not save the sessions ended by a logout: a restart now forgets those since the last save", zap.Error(err))
		return
	}
	s.saved = changes
	if info, err := at.st.Stat(ctx, s.own); err == nil {
		s.seen[s.own] = info.Modified // nothing to read back
	}
}

// readChanged merges every saved file modified since it was last read.
// A file whose entries have all expired is deleted. s.mu is held.
func (s *savedRevocations) readChanged(ctx context.Context, at *revocationsStorage, now time.Time) {
	keys, err := at.st.List(ctx, revocationsDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		at.logger.Warn("could not list the saved sessions ended by a logout", zap.Error(err))
		return
	}
	for _, key := range keys {
		// Only whole files: an atomic write's temporary file is listed
		// too while another instance saves.
		if !strings.HasSuffix(key, revocationsFileExt) {
			continue
		}
		info, err := at.st.Stat(ctx, key)
		if err != nil || info.Modified.Equal(s.seen[key]) {
			continue
		}
		b, err := at.st.Load(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			at.logger.Warn("could not read saved sessions ended by a logout", zap.String("key", key), zap.Error(err))
			continue
		}
		added, live, err := s.Merge(b, now)
		if err != nil {
			at.logger.Warn("could not read saved sessions ended by a logout", zap.String("key", key), zap.Error(err))
			continue
		}
		s.seen[key] = info.Modified
		if added > 0 {
			at.logger.Info("sessions ended by a logout read from storage", zap.String("key", key), zap.Int("sessions", added))
		}
		if live == 0 && key != s.own {
			// Every entry has expired: the file's process has not saved
			// for longer than its cookies live. (Should it save right now,
			// it saves again at its next change.)
			_ = at.st.Delete(ctx, key)
			delete(s.seen, key)
		}
	}
}
