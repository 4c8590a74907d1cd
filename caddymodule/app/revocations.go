package app

import "github.com/caddyserver/certmagic"

// Bounds of session.max_revocations.
const (
	minRevocations = 1_000
	maxRevocations = 10_000_000
)

// releaseRevocations gives back the pooled set this config took in Start,
// once.
func (a *App) releaseRevocations() {
	if a.rt != nil && a.rt.revocations.Hold != nil {
		a.rt.revocations.Release()
		a.rt.revocations.Hold = nil
	}
}

// storage is the config's storage; nil for an app Caddy never provisioned
// (Standalone), which saves nothing.
func (a *App) storage() certmagic.Storage {
	if a.ctx.Context == nil {
		return nil
	}
	return a.ctx.Storage()
}
