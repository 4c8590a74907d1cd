// Package savedpool keeps the guard's in-memory sets that must outlive a
// restart (the sessions ended by a logout, the spent one-use step-up
// tokens) in Caddy's storage. Each kind has one set a process, shared by
// every config that holds it (a caddy.UsagePool entry, so a reload keeps
// it whatever the new config says), saved and read back by
// internal/savedset with the bound, storage and logger of the newest
// config still holding it.
package savedpool

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/newest"
	"github.com/login-guard/login_guard/internal/savedset"
)

// Kind says what a pooled set holds and where it is saved.
type Kind struct {
	Key  string // its pool key: one set of the kind a process
	What string // what the entries are, for log lines
	Dir  string // the storage directory of its saved files
	// Every is how often it is synced while it changes; Timeout bounds
	// each sync (Caddy's file storage takes no deadline): one not done in
	// time goes on in the background and is logged, and the next is
	// skipped while it runs.
	Every, Timeout time.Duration
}

// Entries is a set a pool keeps: what savedset saves, with a bound the
// newest config sets.
type Entries interface {
	savedset.Entries
	SetMax(max int)
}

// pool holds every kind's set, each under its Kind.Key.
var pool = caddy.NewUsagePool()

// pooled is a kind's set, what saves it, and the bound and storage of
// the newest config still holding it.
type pooled[E Entries] struct {
	set      E
	saved    *savedset.Set // nil without storage
	settings newest.Values[settings]
}

type settings struct {
	max int
	at  *savedset.Storage
}

// Hold is a config's hold on a kind's set.
type Hold[E Entries] struct {
	kind Kind
	p    *pooled[E]
	made bool // this hold made the set (and started reading its files)
}

// Acquire takes the process's set of kind k, making it with make (and
// starting to read the saved files into it: WaitRead waits for that)
// when no config holds it, and makes max and st its bound and storage.
// With st nil nothing is read or saved. Release gives it back.
func Acquire[E Entries](k Kind, make func() E, max int, st certmagic.Storage, logger *zap.Logger) *Hold[E] {
	at := &savedset.Storage{Logger: logger}
	if st != nil {
		at.St, at.ID = storageFiles{st}, storageIdentity(st)
	}
	made := false
	v, _, _ := pool.LoadOrNew(k.Key, func() (caddy.Destructor, error) {
		p := &pooled[E]{set: make()}
		if st != nil {
			p.saved = savedset.Open(p.set, savedset.Config{
				What: k.What, Dir: k.Dir, Instance: instanceName(), Every: k.Every, Timeout: k.Timeout,
			}, at)
		}
		made = true
		return p, nil
	})
	h := &Hold[E]{kind: k, p: v.(*pooled[E]), made: made}
	h.p.settings.Hold(h, settings{max: max, at: at}, h.p.apply)
	return h
}

// Set is the pooled set.
func (h *Hold[E]) Set() E { return h.p.set }

// Loaded reports whether the saved files have been read into the set (at
// once without storage). Until then the set cannot tell what a restart
// would otherwise forget, and its users must fail closed.
func (h *Hold[E]) Loaded() bool { return h.p.saved == nil || h.p.saved.Loaded() }

// WaitRead waits for the read of the saved files that Acquire started
// when it made the set, at most the kind's Timeout from its start, and
// reports whether the set is loaded. A hold on a set another config made
// (a reload), or a nil one, does not wait. A start taking several sets
// acquires them all, then waits for each: their reads run at once, so a
// storage that hangs holds it up for one bound, not one a set.
func (h *Hold[E]) WaitRead() bool {
	if h == nil {
		return true
	}
	if h.made && h.p.saved != nil {
		h.p.saved.WaitRead()
	}
	return h.Loaded()
}

// Sync runs a sync now and waits for it (bounded by the kind's Timeout),
// reporting whether it finished; a no-op without storage.
func (h *Hold[E]) Sync() bool { return h.p.saved == nil || h.p.saved.Sync(true) }

// Stopping saves the set as the config stops, once the config's bound and
// storage have given way to those of the newest config still holding the
// set (so a reload that failed once its apps had started writes to the
// running config's storage, under its bound). A save that does not finish
// in time is logged: a service manager may kill the process before the
// last one.
func (h *Hold[E]) Stopping() {
	h.p.settings.Let(h, h.p.apply)
	if h.p.saved != nil {
		h.p.saved.SaveNow()
	}
}

// Release gives the set back: the newest config still holding it sets
// its bound and storage again, and the last one out saves it a last time.
func (h *Hold[E]) Release() {
	h.p.settings.Let(h, h.p.apply)
	_, _ = pool.Delete(h.kind.Key)
}

func (p *pooled[E]) apply(s settings) {
	p.set.SetMax(s.max)
	if p.saved != nil && s.at.St != nil {
		p.saved.Move(s.at)
	}
}

// Destruct saves the set a last time: the last config let go of it (a
// stop, or a reload to a config that keeps it elsewhere, store redis).
// The set itself stays as it is for requests of the old config that still
// read it.
func (p *pooled[E]) Destruct() error {
	if p.saved != nil {
		p.saved.Close()
	}
	return nil
}

// References is how many configs hold the set of the kind keyed key.
func References(key string) int {
	n, _ := pool.References(key)
	return n
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
