package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/login-guard/login_guard/caddymodule/savedpool"
)

func init() { caddy.RegisterModule(hangStorage{}) }

// hangStorage is a Caddy storage module for tests: a file storage whose
// calls on the keys (or under the directories) named in Hang do not
// answer until the test ends, like a stuck network mount.
type hangStorage struct {
	Root string   `json:"root"`
	Hang []string `json:"hang"`
}

func (hangStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.storage.login_guard_test_hang", New: func() caddy.Module { return new(hangStorage) }}
}

func (h *hangStorage) CertMagicStorage() (certmagic.Storage, error) {
	return &hangingFiles{FileStorage: &certmagic.FileStorage{Path: h.Root}, hang: h.Hang}, nil
}

// hangs is what the current test's hanging storage saw: when each call
// that hangs began. Closing release (at the test's end) makes those
// calls, and any made since, fail at once.
var hangs struct {
	mu      sync.Mutex
	began   map[string]time.Time
	release chan struct{}
}

// hangUntilCleanup arms the hanging storage for a test.
func hangUntilCleanup(t *testing.T) {
	hangs.mu.Lock()
	hangs.began, hangs.release = map[string]time.Time{}, make(chan struct{})
	release := hangs.release
	hangs.mu.Unlock()
	t.Cleanup(func() { close(release) })
}

// hungSince says when the first call on each hanging key began.
func hungSince() map[string]time.Time {
	hangs.mu.Lock()
	defer hangs.mu.Unlock()
	out := make(map[string]time.Time, len(hangs.began))
	for k, v := range hangs.began {
		out[k] = v
	}
	return out
}

type hangingFiles struct {
	*certmagic.FileStorage
	hang []string
}

var errReleased = errors.New("hanging storage released")

// wait hangs a call on key until the test ends, if key is one to hang.
func (h *hangingFiles) wait(key string) error {
	for _, k := range h.hang {
		if key == k || strings.HasPrefix(key, k+"/") {
			hangs.mu.Lock()
			if _, ok := hangs.began[k]; !ok {
				hangs.began[k] = time.Now()
			}
			release := hangs.release
			hangs.mu.Unlock()
			<-release
			return errReleased
		}
	}
	return nil
}

func (h *hangingFiles) Load(ctx context.Context, key string) ([]byte, error) {
	if err := h.wait(key); err != nil {
		return nil, err
	}
	return h.FileStorage.Load(ctx, key)
}

func (h *hangingFiles) Store(ctx context.Context, key string, b []byte) error {
	if err := h.wait(key); err != nil {
		return err
	}
	return h.FileStorage.Store(ctx, key, b)
}

func (h *hangingFiles) List(ctx context.Context, dir string, rec bool) ([]string, error) {
	if err := h.wait(dir); err != nil {
		return nil, err
	}
	return h.FileStorage.List(ctx, dir, rec)
}

func (h *hangingFiles) Delete(ctx context.Context, key string) error {
	if err := h.wait(key); err != nil {
		return err
	}
	return h.FileStorage.Delete(ctx, key)
}

// hangConfig is a config with the login_guard app alone (appJSON) on a
// storage whose calls on hang do not answer.
func hangConfig(t *testing.T, appJSON string, hang ...string) *caddy.Config {
	t.Helper()
	hangUntilCleanup(t)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	storage, _ := json.Marshal(map[string]any{"module": "login_guard_test_hang", "root": t.TempDir(), "hang": hang})
	raw := fmt.Sprintf(`{"admin":{"disabled":true},"storage":%s,"apps":{"login_guard":%s}}`, storage, appJSON)
	var c caddy.Config
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestStartFailsWhenTheKeysHang: a storage that does not answer the read
// of the key material (a stuck network mount, a FIFO) fails the start
// within the bound, with an error naming the storage and the key: Caddy
// refuses the config instead of never finishing its load (which no
// SIGTERM could stop).
func TestStartFailsWhenTheKeysHang(t *testing.T) {
	defer func(w time.Duration) { keysWait = w }(keysWait)
	keysWait = 500 * time.Millisecond
	cfg := hangConfig(t, `{}`, keysStorageKey)
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- caddy.Run(cfg) }()
	// The watchdog only tells a start that gives up from one that never
	// finishes: the error below says the bound is why it gave up, and a
	// race-built start on a busy machine may take seconds beside it.
	const never = 15 * time.Second
	var err error
	select {
	case err = <-done:
	case <-time.After(keysWait + never):
		t.Fatalf("the start still waits on the key material after %v (bound %v)", keysWait+never, keysWait)
	}
	took := time.Since(began)
	if err == nil {
		_ = caddy.Stop()
		t.Fatal("a start whose key material could not be read succeeded")
	}
	for _, want := range []string{"reading " + keysStorageKey, "FileStorage:", "did not answer within " + keysWait.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if took < keysWait {
		t.Errorf("the start gave up after %v, before its bound %v", took, keysWait)
	}
}

// TestKeysGivenUpOnAreNotWritten: a key read the start gave up on gives
// its storage lock back at once (a later read is not kept out while it
// hangs), and when it answers at last it writes no key material (nobody
// uses it).
func TestKeysGivenUpOnAreNotWritten(t *testing.T) {
	defer func(w time.Duration) { keysWait = w }(keysWait)
	keysWait = 100 * time.Millisecond
	st := &slowLoad{FileStorage: &certmagic.FileStorage{Path: t.TempDir()},
		answer: make(chan struct{}), loaded: make(chan struct{}), unlocked: make(chan struct{})}
	if _, err := loadKeysFrom(context.Background(), st, &SessionConfig{}); err == nil {
		t.Fatal("a key read past its bound succeeded")
	}
	<-st.unlocked // given back while the read still hangs
	close(st.answer)
	<-st.loaded
	time.Sleep(100 * time.Millisecond) // what the read would write, it writes now
	if st.stores.Load() != 0 {
		t.Fatal("key material was written after the start gave up on it")
	}
	// The later read takes the lock, finds no key material and writes it
	// (with fsync): on a loaded machine that can take longer than the
	// short bound the read above was given. The lock it needs would be
	// kept fresh, so never taken, were it still held: a bound of 5s, as
	// long as ctx, tells the two apart.
	keysWait = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := loadKeysFrom(ctx, st.FileStorage, &SessionConfig{}); err != nil {
		t.Fatalf("a read after the one given up on: %v", err)
	}
}

// slowLoad answers a Load (the key material is not there) only once
// answer is closed, closing loaded then; it closes unlocked once the lock
// is given back, and counts the Stores.
type slowLoad struct {
	*certmagic.FileStorage
	answer, loaded, unlocked chan struct{}
	stores                   atomic.Int32
}

func (s *slowLoad) Load(ctx context.Context, key string) ([]byte, error) {
	<-s.answer
	defer close(s.loaded)
	return s.FileStorage.Load(ctx, key)
}

func (s *slowLoad) Store(ctx context.Context, key string, b []byte) error {
	s.stores.Add(1)
	return s.FileStorage.Store(ctx, key, b)
}

func (s *slowLoad) Unlock(ctx context.Context, name string) error {
	defer close(s.unlocked)
	return s.FileStorage.Unlock(ctx, name)
}

// TestSavedSetsReadTogetherAtStart: the start reads its saved sets (the
// ended sessions, the spent step-up tokens, the LoginID tokens used) all
// at once, so a storage that hangs holds it up for one bound in all, not
// one a set; and a stop then does not wait another bound behind the
// reads that hang.
func TestSavedSetsReadTogetherAtStart(t *testing.T) {
	// Long enough that a race-built start on a busy machine fits in the
	// margins below (one bound for reads made together, three for reads
	// made one after another).
	const bound = 3 * time.Second
	kinds := []*savedpool.Kind{&savedpool.RevocationsKind, &savedpool.SpentKind, &savedpool.LoginIDUsedKind}
	for _, k := range kinds {
		// Sets of their own: another test's app may still hold the
		// process's (a standalone one is never cleaned up).
		defer func(k *savedpool.Kind, saved savedpool.Kind) { *k = saved }(k, *k)
		k.Key, k.Timeout = k.Key+".read-together-test", bound
	}
	var dirs []string
	for _, k := range kinds {
		dirs = append(dirs, k.Dir)
	}
	cfg := hangConfig(t, `{"loginid":{"mode":"pem","region":"us","client_id":"read-together-test"}}`, dirs...)
	began := time.Now()
	if err := caddy.Run(cfg); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	stopped := false
	defer func() {
		if !stopped {
			_ = caddy.Stop()
		}
	}()
	hung := hungSince()
	if len(hung) != len(dirs) {
		t.Fatalf("reads that hung: %v, want one a set %v", hung, dirs)
	}
	first, last := time.Time{}, time.Time{}
	for _, at := range hung {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	// Structure, not timing: every read began before the first one's
	// bound was over (one after another, each began a bound apart).
	if spread := last.Sub(first); spread >= bound/2 {
		t.Fatalf("the saved sets were read one after another: the last read began %v after the first", spread)
	}
	if took >= 2*bound {
		t.Fatalf("the start took %v with a storage that hangs (bound %v a set)", took, bound)
	}
	v, err := caddy.ActiveContext().App("login_guard")
	if err != nil {
		t.Fatal(err)
	}
	if !v.(*App).Started() {
		t.Fatal("the app did not start")
	}
	// The stop saves each set; their reads have hung a bound already, so
	// the saves are queued behind them, not waited for.
	began = time.Now()
	stopped = true
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took >= bound {
		t.Fatalf("the stop waited %v behind the reads that hang (bound %v)", took, bound)
	}
	for _, k := range kinds {
		if n := savedpool.References(k.Key); n != 0 {
			t.Errorf("%s still held %d times", path.Base(k.Dir), n)
		}
	}
}
