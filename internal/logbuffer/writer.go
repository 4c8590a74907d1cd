// Package logbuffer is a log output that gathers lines in memory and
// writes them out in blocks: when the block is full, when the oldest line
// in it has waited a set time, and when the output closes. One write
// system call then carries a few hundred audit lines instead of one, as
// in nginx's `access_log ... buffer=` and Envoy's access log files.
//
// The price is stated plainly: lines still in the block when the process
// dies without writing it out (a crash, SIGKILL, power loss) are lost, at
// most a block or an interval's worth. Close and Unbuffer write the block
// out (caddymodule/logbuffer calls Unbuffer at Caddy's graceful exit), and
// a block no one writes to any more still goes out when its interval ends.
package logbuffer

import (
	"io"
	"sync"
	"time"
)

// Writer buffers whole writes (zap writes one line a call) in front of
// out. It is safe for concurrent use. A write never straddles two blocks:
// a line that does not fit in what is left of the block sends the block
// out first, and one larger than a block goes out on its own, so a
// reader never sees half a line.
type Writer struct {
	out      io.WriteCloser
	size     int
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	err    error // the last failed write to out, returned to the next writer
	timer  *time.Timer
	direct bool // after Unbuffer or Close: every write goes straight out
	closed bool
	// ready, until it first reports true, sends writes straight out (see
	// BufferWhen); nil once it has, or when never set.
	ready func() bool
}

// New returns a Writer over out with blocks of size bytes, each sent out
// at most interval after its first line was written.
func New(out io.WriteCloser, size int, interval time.Duration) *Writer {
	return &Writer{out: out, size: size, interval: interval, buf: make([]byte, 0, size)}
}

// BufferWhen makes w write every line straight out until ready first
// reports true (it is asked at each write until then, under w's lock),
// and buffer from then on. A process that stops before then, without the
// graceful exit that writes a block out (a config Caddy refuses at
// startup or at `caddy validate`, whose error is its last line), loses
// nothing. Call it before the first write.
func (w *Writer) BufferWhen(ready func() bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ready = ready
}

// buffering reports whether writes are buffered yet (see BufferWhen).
func (w *Writer) buffering() bool {
	if w.ready == nil {
		return true
	}
	if !w.ready() {
		return false
	}
	w.ready = nil
	return true
}

// Write adds p to the block. The error is that of an earlier write to
// the output that failed (its lines are lost, as they would have been
// unbuffered), so the logger reports it; p itself is kept.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.direct || !w.buffering() {
		// After Unbuffer or Close, or before the writer buffers, lines
		// go straight to the output, which says whether it takes them.
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.size {
		w.flushLocked()
		if len(p) > w.size {
			if _, err := w.out.Write(p); err != nil {
				return 0, err
			}
			return len(p), w.takeErr()
		}
	}
	if len(w.buf) == 0 {
		w.startTimerLocked()
	}
	w.buf = append(w.buf, p...)
	return len(p), w.takeErr()
}

func (w *Writer) takeErr() error {
	err := w.err
	w.err = nil
	return err
}

// startTimerLocked arms the timer that sends out the block just started.
func (w *Writer) startTimerLocked() {
	if w.timer == nil {
		w.timer = time.AfterFunc(w.interval, w.flushDue)
		return
	}
	w.timer.Reset(w.interval)
}

// flushDue is the timer's: the block's first line has waited interval.
func (w *Writer) flushDue() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

// flushLocked writes the block out. A failed write loses the block (as
// each line would have been lost unbuffered) and is reported to the next
// writer.
func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	if _, err := w.out.Write(w.buf); err != nil {
		w.err = err
	}
	w.buf = w.buf[:0]
}

// Flush writes out what is buffered now.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return w.takeErr()
}

// Unbuffer writes out the block and sends every later line straight to
// the output, which stays open: for a process about to exit that still
// logs its last lines, and will not close its outputs.
func (w *Writer) Unbuffer() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	w.direct = true
	return w.takeErr()
}

// Close writes out the block and closes the output.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.flushLocked()
	w.direct, w.closed = true, true
	err := w.takeErr()
	if cerr := w.out.Close(); err == nil {
		err = cerr
	}
	return err
}
