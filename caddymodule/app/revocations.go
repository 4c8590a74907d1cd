package app

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/revoke"
)

// Bounds of session.max_revocations.
const (
	minRevocations = 1_000
	maxRevocations = 10_000_000
)

// revocationsPool keeps the revoked sessions across reloads: a reload
// must not make a logged-out cookie count again. The set sits behind
// revoke.Set, so a shared store can take its place.
var revocationsPool = caddy.NewUsagePool()

type pooledRevocations struct{ *revoke.Memory }

func revocationsKey(max int) string { return fmt.Sprintf("login_guard.revocations.%d", max) }

func acquireRevocations(max int) revoke.Set {
	v, _, _ := revocationsPool.LoadOrNew(revocationsKey(max), func() (caddy.Destructor, error) {
		return pooledRevocations{revoke.NewMemory(max)}, nil
	})
	return v.(pooledRevocations).Memory
}

func releaseRevocations(max int) { _, _ = revocationsPool.Delete(revocationsKey(max)) }

// releaseRevocations gives back the pooled set this config took in Start,
// once.
func (a *App) releaseRevocations() {
	if a.rt != nil && a.rt.revocationsHeld {
		a.rt.revocationsHeld = false
		releaseRevocations(a.Session.MaxRevocations)
	}
}
