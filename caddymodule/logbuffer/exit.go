package logbuffer

import (
	"context"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/internal/logbuffer"
)

// Caddy does not close its log outputs when it stops: the config's
// cleanup that would (Logging.closeLogs, registered with OnCancel on a
// copy of the context in Caddy v2.11) never runs, so an output's Close is
// not called at a reload or at exit. A buffered output's last lines would
// then be lost on every clean stop. So the open writers are kept here,
// and at a graceful exit (caddy stop, SIGINT, SIGTERM, the admin API's
// /stop), after the apps have stopped, each is written out and switched
// to writing its lines straight through, so the lines Caddy logs last
// ("shutdown complete") reach the file too. Between reloads a writer
// whose config is unchanged is the same writer (Caddy pools outputs by
// WriterKey), and one that was replaced still writes its block out when
// its flush interval ends.
var openWriters writerSet

type writerSet struct {
	once sync.Once
	mu   sync.Mutex
	set  map[*closingWriter]struct{}
}

// closingWriter takes itself out of the set when Caddy closes it.
type closingWriter struct {
	*logbuffer.Writer
	set *writerSet
}

func (w *closingWriter) Close() error {
	w.set.mu.Lock()
	delete(w.set.set, w)
	w.set.mu.Unlock()
	return w.Writer.Close()
}

func (s *writerSet) add(w *logbuffer.Writer) *closingWriter {
	// caddy.OnExit registers for the life of the process: once.
	s.once.Do(func() { caddy.OnExit(s.unbufferAll) })
	cw := &closingWriter{Writer: w, set: s}
	s.mu.Lock()
	if s.set == nil {
		s.set = map[*closingWriter]struct{}{}
	}
	s.set[cw] = struct{}{}
	s.mu.Unlock()
	return cw
}

func (s *writerSet) unbufferAll(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.set {
		// A failed write was the output's; Caddy's own logs are what
		// would report it, and they are the ones being written.
		_ = w.Unbuffer()
	}
}
