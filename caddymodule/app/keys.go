package app

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/tokens"
)

const (
	keysStorageKey = "login_guard/keys.json"
	keysLockName   = "login_guard_keys"
)

// loadKeys reads the key material from Caddy storage, creating or rotating
// it under a storage lock so that several instances sharing storage agree
// on one set. It runs in Start, never in Provision, because `caddy
// validate` provisions too and must not write keys.
func loadKeys(ctx caddy.Context, cfg *SessionConfig) (*tokens.Keyset, error) {
	st := ctx.Storage()
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.Lock(lctx, keysLockName); err != nil {
		return nil, err
	}
	defer func() { _ = st.Unlock(context.Background(), keysLockName) }()

	now := time.Now()
	var material tokens.Stored
	raw, err := st.Load(lctx, keysStorageKey)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if material, err = tokens.NewStored(now); err != nil {
			return nil, err
		}
		if err := storeKeys(lctx, ctx, material); err != nil {
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
			if err := storeKeys(lctx, ctx, rotated); err != nil {
				return nil, err
			}
			material = rotated
		}
	}
	return tokens.NewKeyset(material)
}

func storeKeys(lctx context.Context, ctx caddy.Context, m tokens.Stored) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return ctx.Storage().Store(lctx, keysStorageKey, b)
}

// keyCheckInterval is how often a running server looks at its keys: a
// config that is never reloaded must still rotate them.
const keyCheckInterval = time.Hour

// rotateKeysEvery reloads the key material on a timer (rotating it when
// due, under the storage lock) and returns the function that stops it.
func (a *App) rotateKeysEvery(every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ks, err := loadKeys(a.ctx, a.Session)
				if err != nil {
					a.logger.Error("refreshing login_guard keys", zap.Error(err))
					continue
				}
				a.rt.mu.Lock()
				// An unchanged set is kept: the session cache serves only
				// what the current keyset sealed or opened.
				if !ks.SameMaterial(a.rt.keys) {
					a.rt.keys = ks
				}
				a.rt.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
