package app

import (
	"context"
	"errors"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/newest"
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

// The set also outlives the process (savedSet, in Caddy's storage): a
// stolen cookie logged out before a restart (a deploy) must not be a
// session again after it.
const (
	revocationsDir       = "login_guard/revocations"
	revocationsSyncEvery = time.Minute
	// revocationsTimeout bounds each sync (Caddy's file storage takes no
	// deadline): one not done in time goes on in the background and is
	// logged; the next is skipped while it runs.
	revocationsTimeout = 10 * time.Second
)

// pooledRevocations is the process's set, what saves it, and the bound
// and storage of the newest config still holding it.
type pooledRevocations struct {
	*revoke.Memory
	saved    *savedSet // nil without storage (tests)
	settings newest.Values[revocationsSettings]
}

// revocationsSettings is what a config sets in the pooled set.
type revocationsSettings struct {
	max int
	at  *storageAt
}

// revocationsHold is a config's hold on the pooled set.
type revocationsHold struct{ set *pooledRevocations }

// acquireRevocations takes the process's set, making it (and reading the
// saved files into it) when no config holds it, and makes max and st the
// set's bound and storage. With st nil nothing is read or saved.
func acquireRevocations(max int, st certmagic.Storage, logger *zap.Logger) *revocationsHold {
	at := &storageAt{st: st, logger: logger}
	v, _, _ := revocationsPool.LoadOrNew(revocationsKey, func() (caddy.Destructor, error) {
		p := &pooledRevocations{Memory: revoke.NewMemory(max)}
		if st != nil {
			p.saved = newSavedSet(p.Memory, "sessions ended by a logout", revocationsDir, at, revocationsSyncEvery, revocationsTimeout)
		}
		return p, nil
	})
	h := &revocationsHold{set: v.(*pooledRevocations)}
	h.set.settings.Hold(h, revocationsSettings{max: max, at: at}, h.set.apply)
	return h
}

// errRevocationsLoading: the saved revocations are still being read (a
// start whose storage is slow), so no session can be known not to have
// ended: the guard treats the request as carrying none, as it does when
// a shared store does not answer.
var errRevocationsLoading = errors.New("the saved sessions ended by a logout are still being read")

// Revoked implements revoke.Set, failing until the saved revocations
// have been read.
func (p *pooledRevocations) Revoked(ctx context.Context, id string, now time.Time) (bool, error) {
	if p.saved != nil && !p.saved.Loaded() {
		return false, errRevocationsLoading
	}
	return p.Memory.Revoked(ctx, id, now)
}

// saveNow saves the set now (bounded), if it is saved at all.
func (p *pooledRevocations) saveNow() {
	if p.saved != nil {
		p.saved.syncBounded(true)
	}
}

func (p *pooledRevocations) apply(s revocationsSettings) {
	p.Memory.SetMax(s.max)
	if p.saved != nil && s.at.st != nil {
		p.saved.Move(s.at)
	}
}

// release gives the set back: the newest config still holding it sets
// its bound and storage again (after a reload that failed once this app
// had started, the running config's).
func (h *revocationsHold) release() {
	h.set.settings.Let(h, h.set.apply)
	_, _ = revocationsPool.Delete(revocationsKey)
}

// Destruct saves the set a last time: the last config let go of it (a
// stop, or a reload to store redis). The set itself stays as it is for
// requests of the old config that still read it.
func (p *pooledRevocations) Destruct() error {
	if p.saved != nil {
		p.saved.Close()
	}
	return nil
}

// releaseRevocations gives back the pooled set this config took in Start,
// once.
func (a *App) releaseRevocations() {
	if a.rt != nil && a.rt.revocations != nil {
		a.rt.revocations.release()
		a.rt.revocations = nil
	}
}
