package repeatlog

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func newLogger() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	return zap.New(core), logs
}

// events counts what the lines stand for: one each, or their "repeats".
func events(logs *observer.ObservedLogs, msg string) int {
	n := 0
	for _, e := range logs.FilterMessage(msg).All() {
		if r, ok := e.ContextMap()["repeats"]; ok {
			n += int(r.(int64))
		} else {
			n++
		}
	}
	return n
}

func TestFirstLineAtOnceRestCounted(t *testing.T) {
	logger, logs := newLogger()
	l := New(10 * time.Second)
	t0 := time.Unix(1_000_000, 0)
	for i := range 500 {
		l.Write(logger, t0.Add(time.Duration(i)*time.Millisecond), "dropped", zapcore.WarnLevel, "dropped", zap.Int("n", i))
	}
	if got := logs.Len(); got != 1 {
		t.Fatalf("500 lines in a second: %d written, want the first only", got)
	}
	if first := logs.All()[0].ContextMap(); first["n"] != int64(0) || first["repeats"] != nil {
		t.Fatalf("the first line must be written as it is: %v", first)
	}
	if !l.Holding() {
		t.Fatal("499 lines held back, Holding says none")
	}
	// Before the interval ends nothing more is written, even by Flush.
	l.Flush(logger, t0.Add(9*time.Second), false)
	if logs.Len() != 1 {
		t.Fatal("a summary written before its interval ended")
	}
	// A line of another kind after the interval writes the summary first.
	l.Write(logger, t0.Add(10*time.Second), "failed", zapcore.WarnLevel, "failed")
	all := logs.All()
	if len(all) != 3 {
		t.Fatalf("after the interval: %d lines, want 3 (first, summary, the other kind's)", len(all))
	}
	sum := all[1]
	if sum.Message != "dropped" || sum.Level != zapcore.WarnLevel || sum.ContextMap()["repeats"] != int64(499) || sum.ContextMap()["n"] != int64(499) {
		t.Fatalf("summary line: %s %s %v, want the last held-back line with repeats 499", sum.Level, sum.Message, sum.ContextMap())
	}
	if events(logs, "dropped") != 500 || events(logs, "failed") != 1 {
		t.Fatalf("the lines stand for %d dropped and %d failed, want 500 and 1", events(logs, "dropped"), events(logs, "failed"))
	}
}

func TestOngoingFailureIsALinePerInterval(t *testing.T) {
	logger, logs := newLogger()
	l := New(time.Second)
	t0 := time.Unix(1_000_000, 0)
	// 100 lines a second for 10 seconds.
	for i := range 1000 {
		l.Write(logger, t0.Add(time.Duration(i)*10*time.Millisecond), "k", zapcore.WarnLevel, "m")
	}
	l.Flush(logger, t0.Add(time.Hour), true)
	if n := logs.Len(); n < 10 || n > 12 {
		t.Fatalf("%d lines for 10 s of a repeating failure at a 1 s interval, want 10-12", n)
	}
	if got := events(logs, "m"); got != 1000 {
		t.Fatalf("the lines stand for %d events, want 1000", got)
	}
}

func TestFinalFlushWritesEverythingHeld(t *testing.T) {
	logger, logs := newLogger()
	l := New(time.Hour)
	t0 := time.Unix(1_000_000, 0)
	for i := range 3 {
		l.Write(logger, t0, "a", zapcore.WarnLevel, "a")
		l.Write(logger, t0, "b", zapcore.InfoLevel, "b", zap.Int("i", i))
	}
	l.Flush(logger, t0, false)
	if logs.Len() != 2 {
		t.Fatalf("%d lines before the final flush, want 2", logs.Len())
	}
	l.Flush(logger, t0, true)
	if events(logs, "a") != 3 || events(logs, "b") != 3 || logs.Len() != 4 {
		t.Fatalf("after the final flush: %d lines, a %d, b %d; want 4 lines standing for 3 each", logs.Len(), events(logs, "a"), events(logs, "b"))
	}
	// Nothing is held now: another flush writes nothing.
	if l.Holding() {
		t.Fatal("Holding after the final flush")
	}
	l.Flush(logger, t0.Add(2*time.Hour), true)
	if logs.Len() != 4 {
		t.Fatal("a flush with nothing held wrote a line")
	}
}

// TestConcurrentWritesLoseNothing: workers write at once (run with
// -race); every event is accounted for by a line.
func TestConcurrentWritesLoseNothing(t *testing.T) {
	logger, logs := newLogger()
	l := New(time.Millisecond)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				l.Write(logger, time.Now(), "k", zapcore.WarnLevel, "m")
			}
		}()
	}
	wg.Wait()
	l.Flush(logger, time.Now(), true)
	if got := events(logs, "m"); got != 8000 {
		t.Fatalf("the lines stand for %d events, want 8000", got)
	}
}

// TestDebugLevelWritesEveryLine: whoever turned debug logging on wants
// each line.
func TestDebugLevelWritesEveryLine(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := New(time.Hour)
	for range 20 {
		l.Write(zap.New(core), time.Unix(1_000_000, 0), "k", zapcore.WarnLevel, "m")
	}
	if logs.Len() != 20 {
		t.Fatalf("%d lines of 20 at debug level", logs.Len())
	}
}
