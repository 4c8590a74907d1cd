package caddymodule

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/caddyserver/caddy/v2"

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
	b, err := jsonMarshal(m)
	if err != nil {
		return err
	}
	return ctx.Storage().Store(lctx, keysStorageKey, b)
}
