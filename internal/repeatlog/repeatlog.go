// Package repeatlog keeps a failure that repeats with every request from
// filling the log exactly when an operator reads it: the first line of a
// kind is written at once, the lines of that kind that follow within the
// interval are held back and counted, and once the interval has passed
// one line stands for them all.
//
// That line is the last held-back line, written as it would have been,
// with a "repeats" field: how many lines of its kind it stands for,
// itself included, since the previous line of that kind. So every line
// counts for one event but a line with "repeats", which counts for that
// many. It is written at the first call after the interval (a line of
// any kind, or Flush), and by Flush with final set, whatever the time:
// nothing held back is lost at a shutdown. A logger at debug level gets
// every line: whoever turned it on wants each one.
package repeatlog

import (
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log holds back repeated lines. The zero value is not usable: use New.
type Log struct {
	every time.Duration
	// due is when the first held-back group's interval ends, in Unix
	// nanoseconds; 0 when nothing is held back. Read without the lock,
	// so a caller with nothing to write pays one atomic load.
	due   atomic.Int64
	mu    sync.Mutex
	kinds map[string]*group
}

// group is one kind's state: when its last line was written, and the
// lines held back since.
type group struct {
	written time.Time
	held    int
	level   zapcore.Level
	msg     string
	fields  []zap.Field // the last held-back line's
}

// New makes a Log that writes at most one line of a kind per every.
func New(every time.Duration) *Log {
	return &Log{every: every, kinds: map[string]*group{}}
}

// Write writes the line (level, msg, fields) to logger, unless a line of
// the same kind was written less than the interval ago: then it is held
// back and counted. kind names what repeats (the message and a reason,
// say); a caller keeps its kinds to a fixed, small set.
func (l *Log) Write(logger *zap.Logger, now time.Time, kind string, level zapcore.Level, msg string, fields ...zap.Field) {
	if logger.Core().Enabled(zapcore.DebugLevel) {
		logger.Log(level, msg, fields...)
		return
	}
	l.Flush(logger, now, false)
	l.mu.Lock()
	g := l.kinds[kind]
	if g != nil && now.Sub(g.written) < l.every {
		g.held++
		g.level, g.msg = level, msg
		g.fields = append(g.fields[:0], fields...)
		if l.due.Load() == 0 || g.written.Add(l.every).UnixNano() < l.due.Load() {
			l.due.Store(g.written.Add(l.every).UnixNano())
		}
		l.mu.Unlock()
		return
	}
	if g == nil {
		g = &group{}
		l.kinds[kind] = g
	}
	g.written = now
	l.mu.Unlock()
	logger.Log(level, msg, fields...)
}

// Holding reports whether lines are held back: a caller with a clock to
// read asks first, so that nothing is read while there is nothing to write.
func (l *Log) Holding() bool { return l != nil && l.due.Load() != 0 }

// Flush writes the line standing for each kind's held-back lines whose
// interval has passed at now, or for every kind's when final is set. A
// nil Log holds nothing.
func (l *Log) Flush(logger *zap.Logger, now time.Time, final bool) {
	if l == nil {
		return
	}
	if d := l.due.Load(); d == 0 || (!final && now.UnixNano() < d) {
		return
	}
	type line struct {
		level  zapcore.Level
		msg    string
		fields []zap.Field
	}
	var out []line
	l.mu.Lock()
	next := int64(0)
	for _, g := range l.kinds {
		if g.held == 0 {
			continue
		}
		end := g.written.Add(l.every)
		if !final && now.Before(end) {
			if n := end.UnixNano(); next == 0 || n < next {
				next = n
			}
			continue
		}
		out = append(out, line{g.level, g.msg, append(g.fields, zap.Int("repeats", g.held))})
		// The summary line is written now: the interval starts again, so
		// a failure that goes on is a line per interval.
		g.written, g.held, g.fields = now, 0, nil
	}
	l.due.Store(next)
	l.mu.Unlock()
	for _, ln := range out {
		logger.Log(ln.level, ln.msg, ln.fields...)
	}
}
