package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/newest"
	"github.com/login-guard/login_guard/internal/revoke"
	"github.com/login-guard/login_guard/internal/savedset"
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

// The set also outlives the process (savedset, in Caddy's storage): a
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
	saved    *savedset.Set // nil without storage (tests)
	settings newest.Values[revocationsSettings]
}

// revocationsSettings is what a config sets in the pooled set.
type revocationsSettings struct {
	max int
	at  *savedset.Storage
}

// revocationsHold is a config's hold on the pooled set.
type revocationsHold struct{ set *pooledRevocations }

// acquireRevocations takes the process's set, making it (and reading the
// saved files into it) when no config holds it, and makes max and st the
// set's bound and storage. With st nil nothing is read or saved.
func acquireRevocations(max int, st certmagic.Storage, logger *zap.Logger) *revocationsHold {
	at := &savedset.Storage{Logger: logger}
	if st != nil {
		at.St, at.ID = storageFiles{st}, storageIdentity(st)
	}
	v, _, _ := revocationsPool.LoadOrNew(revocationsKey, func() (caddy.Destructor, error) {
		p := &pooledRevocations{Memory: revoke.NewMemory(max)}
		if st != nil {
			p.saved = savedset.New(p.Memory, savedset.Config{
				What: "sessions ended by a logout", Dir: revocationsDir, Instance: instanceName(),
				Every: revocationsSyncEvery, Timeout: revocationsTimeout,
			}, at)
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

// stopping saves the set as the config stops, once the config's bound
// and storage have given way to those of the newest config still holding
// the set (so a reload that failed once this app had started writes to
// the running config's storage, under its bound). A save that does not
// finish in time is logged: a service manager may kill the process
// before the last one.
func (h *revocationsHold) stopping() {
	p := h.set
	p.settings.Let(h, p.apply)
	if p.saved != nil {
		p.saved.SaveNow()
	}
}

func (p *pooledRevocations) apply(s revocationsSettings) {
	p.Memory.SetMax(s.max)
	if p.saved != nil && s.at.St != nil {
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

// instanceName names this instance's saved files: Caddy's instance id,
// which stays the same across restarts with the same data directory (so
// an operator can tell whose file is whose); "caddy" if Caddy cannot say.
func instanceName() string {
	if id, err := caddy.InstanceID(); err == nil {
		return id.String()
	}
	return "caddy"
}

// storageFiles gives Caddy's storage the Modified a saved set asks for.
type storageFiles struct{ certmagic.Storage }

func (s storageFiles) Modified(ctx context.Context, key string) (time.Time, bool, error) {
	info, err := s.Stat(ctx, key)
	return info.Modified, info.IsTerminal, err
}

// storageIdentity tells storages apart across reloads, which provision a
// new storage value each time: its type and its description (certmagic's
// storages describe where they keep things); a storage that gives none
// is told apart by its address, so each reload writes the whole set to
// it again.
func storageIdentity(st certmagic.Storage) string {
	if d, ok := st.(fmt.Stringer); ok {
		return fmt.Sprintf("%T %s", st, d.String())
	}
	if v := reflect.ValueOf(st); v.Kind() == reflect.Pointer {
		return fmt.Sprintf("%T %#x", st, v.Pointer())
	}
	return fmt.Sprintf("%T", st)
}
