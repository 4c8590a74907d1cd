// Package benchcpu reports a benchmark's CPU time per operation.
//
// On a machine shared with other work, ns/op counts the time a benchmark
// spends waiting for a core as well as the time it runs; the process's CPU
// time (user and system, every thread, the garbage collector's included)
// does not. The project's performance targets are read against cpu-ns/op,
// with ns/op alongside on a quiet machine.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// PerOp reports the process's CPU time per iteration as cpu-ns/op when
// the benchmark ends. Call it just before the timed loop.
func PerOp(b *testing.B) {
	start := Process()
	b.Cleanup(func() {
		if b.N > 0 {
			b.ReportMetric(float64(Process()-start)/float64(b.N), "cpu-ns/op")
		}
	})
}

// Process is the CPU time the process has used so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
