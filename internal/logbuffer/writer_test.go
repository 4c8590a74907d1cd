package logbuffer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// output records every write it is given, as one call each.
type output struct {
	mu     sync.Mutex
	writes []string
	fail   error
	closed bool
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, errors.New("write to a closed output")
	}
	if o.fail != nil {
		return 0, o.fail
	}
	o.writes = append(o.writes, string(p))
	return len(p), nil
}

func (o *output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	return nil
}

func (o *output) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.writes...)
}

func line(n int, c byte) []byte { return append(bytes.Repeat([]byte{c}, n-1), '\n') }

func TestBlocksNeverSplitALine(t *testing.T) {
	out := &output{}
	w := New(out, 25, time.Hour)
	for _, c := range []byte("abc") {
		if n, err := w.Write(line(10, c)); n != 10 || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
		if c == 'b' && len(out.got()) != 0 {
			t.Fatalf("two lines of a 25-byte block went out: %q", out.got())
		}
	}
	// The third line did not fit: the first two went out as one write.
	if got := out.got(); len(got) != 1 || got[0] != string(line(10, 'a'))+string(line(10, 'b')) {
		t.Fatalf("after the third line: %q", got)
	}
	// A line larger than a block goes out on its own, after the block.
	if _, err := w.Write(line(40, 'd')); err != nil {
		t.Fatal(err)
	}
	if got := out.got(); len(got) != 3 || got[1] != string(line(10, 'c')) || got[2] != string(line(40, 'd')) {
		t.Fatalf("after the large line: %q", got)
	}
	if err := w.Close(); err != nil || !out.closed {
		t.Fatalf("close: %v, output closed %v", err, out.closed)
	}
}

func TestBlockGoesOutAfterTheInterval(t *testing.T) {
	out := &output{}
	w := New(out, 1<<10, 20*time.Millisecond)
	t.Cleanup(func() { _ = w.Close() })
	start := time.Now()
	if _, err := w.Write(line(10, 'a')); err != nil {
		t.Fatal(err)
	}
	for len(out.got()) == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the block never went out")
		}
		time.Sleep(time.Millisecond)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("the block went out after %s, before its interval", waited)
	}
	// The next line starts a new block with its own wait.
	if _, err := w.Write(line(10, 'b')); err != nil {
		t.Fatal(err)
	}
	for len(out.got()) < 2 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the second block never went out")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseAndUnbufferWriteTheBlock(t *testing.T) {
	out := &output{}
	w := New(out, 1<<10, time.Hour)
	_, _ = w.Write(line(10, 'a'))
	if err := w.Unbuffer(); err != nil {
		t.Fatal(err)
	}
	// Unbuffered: each line goes straight out, and the output stays open.
	_, _ = w.Write(line(10, 'b'))
	if got := out.got(); len(got) != 2 || out.closed {
		t.Fatalf("after Unbuffer: %q closed %v", got, out.closed)
	}

	out2 := &output{}
	w2 := New(out2, 1<<10, time.Hour)
	_, _ = w2.Write(line(10, 'a'))
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out2.got(); len(got) != 1 || !out2.closed {
		t.Fatalf("after Close: %q closed %v", got, out2.closed)
	}
	// After Close a line goes to the output, which refuses it.
	if _, err := w2.Write(line(10, 'b')); err == nil {
		t.Error("a write after Close reported no error")
	}
	if err := w2.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFailedBlockIsReported(t *testing.T) {
	out := &output{fail: errors.New("disk full")}
	w := New(out, 15, time.Hour)
	_, _ = w.Write(line(10, 'a'))
	// This line does not fit: the block's write fails, and the error
	// reaches this writer (zap reports it), the line itself kept.
	if n, err := w.Write(line(10, 'b')); n != 10 || err == nil || err.Error() != "disk full" {
		t.Fatalf("write after a failed block: %d %v", n, err)
	}
	out.mu.Lock()
	out.fail = nil
	out.mu.Unlock()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.got(); len(got) != 1 || got[0] != string(line(10, 'b')) {
		t.Fatalf("after recovery: %q", got)
	}
}

// Lines written from many goroutines all arrive, each whole.
func TestConcurrentLinesArriveWhole(t *testing.T) {
	out := &output{}
	w := New(out, 4<<10, 5*time.Millisecond)
	var wg sync.WaitGroup
	const writers, each = 8, 500
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, _ = fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", i%97))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(out.got(), "")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "{\"g\":%d,\"i\":%d,\"pad\":%q}", &g, &i, &pad); err != nil || len(pad) != i%97 {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		seen[fmt.Sprint(g, i)] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*each)
	}
}

// TestBufferWhen: until ready first says yes, each line is its own write;
// from then on lines are buffered, and ready is not asked again.
func TestBufferWhen(t *testing.T) {
	out := &output{}
	w := New(out, 4096, time.Hour)
	asked, ok := 0, false
	w.BufferWhen(func() bool { asked++; return ok })
	_, _ = w.Write([]byte("a\n"))
	_, _ = w.Write([]byte("b\n"))
	if got := out.got(); len(got) != 2 || got[0] != "a\n" || got[1] != "b\n" {
		t.Fatalf("before ready: writes %q, want each line on its own", got)
	}
	ok = true
	_, _ = w.Write([]byte("c\n"))
	_, _ = w.Write([]byte("d\n"))
	if got := out.got(); len(got) != 2 {
		t.Fatalf("after ready: writes %q, want c and d held", got)
	}
	if asked != 3 {
		t.Errorf("ready asked %d times, want 3 (not again once it said yes)", asked)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.got(); len(got) != 3 || got[2] != "c\nd\n" {
		t.Fatalf("after Close: writes %q", got)
	}
}
