package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/tokens"
)

const (
	keysStorageKey = "login_guard/keys.json"
	keysLockName   = "login_guard_keys"
)

// keysWait bounds a start's wait for the key material, as each of the
// storage calls of the saved sets is bounded (savedpool): Caddy's
// file_system storage takes no deadline, and a storage that hangs (a
// stuck network mount) must not hold the start, and with it every stop
// and reload, for ever. 20 s, not the saved sets' 10 s: a process
// killed while it held the keys' storage lock leaves a lock file that
// Caddy's file_system storage takes as stale only 10 s after its last
// refresh, and a restart at once must outwait that. A var so that tests
// can shorten it.
var keysWait = 20 * time.Second

// keysRead is a read of the key material under way: the storage call it
// waits on, and its storage lock.
type keysRead struct {
	st     certmagic.Storage
	stage  atomic.Pointer[string]
	unlock sync.Once
	mu     sync.Mutex // guards what follows, and the give-up
	locked bool
	writes bool // a write has begun: the lock is kept until it ends
	gaveUp bool
}

func (k *keysRead) set(s string) { k.stage.Store(&s) }

// release gives the lock back, once: by the read as it ends, or by
// loadKeys as it gives up on a read that holds it and writes nothing, so
// a hung read does not keep every later one out.
func (k *keysRead) release() {
	k.unlock.Do(func() { _ = k.st.Unlock(context.Background(), keysLockName) })
}

// mark records that the read took the lock (locked) or is about to write,
// and reports whether it may go on: not once loadKeys gave up on it.
func (k *keysRead) mark(writing bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.gaveUp {
		k.locked, k.writes = true, writing
	}
	return !k.gaveUp
}

// giveUp is loadKeys giving up on the read: from now on it writes
// nothing, and the lock it holds is given back unless a write is under
// way (another instance must not write keys that write may overwrite).
func (k *keysRead) giveUp() {
	k.mu.Lock()
	k.gaveUp = true
	release := k.locked && !k.writes
	k.mu.Unlock()
	if release {
		go k.release()
	}
}

// loadKeys reads the key material from Caddy storage, creating or rotating
// it under a storage lock so that several instances sharing storage agree
// on one set. It runs in Start, never in Provision, because `caddy
// validate` provisions too and must not write keys. It waits at most
// keysWait for the storage, then fails (the start fails: Caddy refuses the
// config); the storage calls go on in the background, and write nothing
// once given up on.
func loadKeys(ctx caddy.Context, cfg *SessionConfig) (*tokens.Keyset, error) {
	return loadKeysFrom(ctx, ctx.Storage(), cfg)
}

func loadKeysFrom(ctx context.Context, st certmagic.Storage, cfg *SessionConfig) (*tokens.Keyset, error) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	at := &keysRead{st: st}
	at.set("taking the storage lock " + keysLockName)
	var ks *tokens.Keyset
	var err error
	done := make(chan struct{})
	go func() {
		ks, err = readKeys(lctx, cfg, at)
		close(done)
	}()
	t := time.NewTimer(keysWait)
	defer t.Stop()
	select {
	case <-done:
		return ks, err
	case <-t.C:
	case <-ctx.Done():
		at.giveUp()
		return nil, ctx.Err()
	}
	at.giveUp()
	// certmagic's storages describe where they keep things.
	name := fmt.Sprintf("%T", st)
	if s, ok := st.(fmt.Stringer); ok {
		name = s.String()
	}
	return nil, fmt.Errorf("the storage (%s) did not answer within %v (%s): "+
		"check that it is reachable and that %s there is a readable regular file "+
		"(not on a stuck network mount, not a FIFO), then start or reload again",
		name, keysWait, *at.stage.Load(), keysStorageKey)
}

// readKeys is loadKeys's storage work, run in the background: once
// loadKeys gave up on it, it writes nothing.
func readKeys(lctx context.Context, cfg *SessionConfig, at *keysRead) (*tokens.Keyset, error) {
	st := at.st
	if err := st.Lock(lctx, keysLockName); err != nil {
		return nil, err
	}
	defer at.release()
	if !at.mark(false) {
		return nil, errKeysGivenUp
	}

	now := time.Now()
	var material tokens.Stored
	at.set("reading " + keysStorageKey)
	raw, err := st.Load(lctx, keysStorageKey)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if material, err = tokens.NewStored(now); err != nil {
			return nil, err
		}
		if err := storeKeys(lctx, at, material); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if material, err = tokens.ParseStored(raw); err != nil {
			return nil, err
		}
		rotated, changed, err := material.Rotate(now, time.Duration(cfg.KeyRotation), time.Duration(cfg.KeyGrace))
		if err != nil {
			return nil, err
		}
		if changed {
			if err := storeKeys(lctx, at, rotated); err != nil {
				return nil, err
			}
			material = rotated
		}
	}
	return tokens.NewKeyset(material)
}

// errKeysGivenUp: loadKeys no longer waits for the read, which so writes
// nothing.
var errKeysGivenUp = errors.New("the key read was given up on")

func storeKeys(lctx context.Context, at *keysRead, m tokens.Stored) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if !at.mark(true) {
		return errKeysGivenUp
	}
	at.set("writing " + keysStorageKey)
	return at.st.Store(lctx, keysStorageKey, b)
}

// keyCheckInterval is how often a running server looks at its keys: a
// config that is never reloaded must still rotate them.
const keyCheckInterval = time.Hour

// reloadKeys reads the key material again (rotating it when due, under
// the storage lock) and installs it. The app's tokens.Reloader runs it
// every keyCheckInterval, and when a token names a key this instance has
// not read: another instance sharing the storage rotated, and seals with
// the new key at once.
func (a *App) reloadKeys() {
	ks, err := loadKeys(a.ctx, a.Session)
	if err != nil {
		a.logger.Error("refreshing login_guard keys", zap.Error(err))
		return
	}
	a.rt.mu.Lock()
	// An unchanged set is kept: the session cache serves only what the
	// current keyset sealed or opened.
	if !ks.SameMaterial(a.rt.keys) {
		a.rt.keys = ks
	}
	a.rt.mu.Unlock()
}

// keysAfterMiss is the keyset to open a token with again, after ks
// refused it with err: when err says the token names a key ks does not
// hold, the key material is read again (see tokens.Reloader.Missed), and
// a keyset other than ks is returned if there is one now; else nil.
func (a *App) keysAfterMiss(ctx context.Context, ks *tokens.Keyset, err error) *tokens.Keyset {
	if !a.rt.keyReload.Missed(ctx, err) {
		return nil
	}
	if cur := a.Keyset(); cur != nil && cur != ks {
		return cur
	}
	return nil
}
