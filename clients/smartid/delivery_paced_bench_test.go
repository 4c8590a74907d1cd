//go:build linux

package smartid

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// BenchmarkDeliveryPaced is the delivery path as a guard under steady load
// pays for it: one login event every interval (5000 logins a second is one
// every 200 µs), enqueued by a producer that, like a request handler,
// returns at once and never waits for the delivery. The stand-in SmartID
// runs in another process, as in BenchmarkDeliveryLoopback.
//
// Go's timers cannot wake a goroutine every 100 µs (a sleep this short
// lasts about a millisecond), so the producer spins on the clock on a
// thread of its own, and that thread's CPU, Enqueue excepted, is taken
// out of the process's. The metrics:
//
//   - cpu-ns/op: the guard's CPU per event: Enqueue on the request's
//     goroutine, the worker's write, read and bookkeeping, the runtime's
//     wake-ups and the garbage collector, everything but the producer's
//     spinning;
//   - enqueue-cpu-ns/op: the part spent in Enqueue, the request's own
//     share (validate, encode, queue, wake a worker);
//   - events/write: events per write, how much the sender pipelined;
//   - vcsw/op: the process's threads' sleeps per event (see
//     voluntarySwitches), the producer's included (when the runtime
//     preempts its spinning).
//
// ns/op is the interval, as paced.
func BenchmarkDeliveryPaced(b *testing.B) {
	for _, every := range []time.Duration{100 * time.Microsecond, 250 * time.Microsecond, time.Millisecond} {
		b.Run(fmt.Sprintf("every=%dus", every/time.Microsecond), func(b *testing.B) {
			benchPaced(b, every)
		})
	}
}

func benchPaced(b *testing.B, every time.Duration) {
	url := startFakeServer(b)
	c, err := New(Config{Endpoint: url, License: testLicense, ChannelID: 1})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	// Warm every worker's connection: a burst, then let it settle.
	for range 16 {
		if err := c.Enqueue(ev); err != nil {
			b.Fatal(err)
		}
	}
	for c.Stats().Sent < 16 {
		time.Sleep(time.Millisecond)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	calib := threadCPUCalibration()
	b.ReportAllocs()
	writes0 := c.writes.Load()
	proc0, thr0, sleeps0 := benchcpu.Process(), threadCPU(), voluntarySwitches()
	var inEnqueue time.Duration
	n := 0
	next := time.Now()
	for b.Loop() {
		next = next.Add(every)
		for time.Now().Before(next) {
		}
		t0 := threadCPU()
		if err := c.Enqueue(ev); err != nil {
			b.Fatal(err)
		}
		inEnqueue += threadCPU() - t0 - calib
		n++
	}
	spin := threadCPU() - thr0 - inEnqueue
	if err := c.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	guard := benchcpu.Process() - proc0 - spin
	if st := c.Stats(); st.Dropped > 0 || st.Failed > 0 || st.Sent != uint64(16+n) {
		b.Fatalf("sent %d of %d, dropped %d, failed %d", st.Sent, 16+n, st.Dropped, st.Failed)
	}
	b.ReportMetric(float64(guard)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(inEnqueue)/float64(n), "enqueue-cpu-ns/op")
	b.ReportMetric(float64(voluntarySwitches()-sleeps0)/float64(n), "vcsw/op")
	if w := c.writes.Load() - writes0; w > 0 {
		b.ReportMetric(float64(n)/float64(w), "events/write")
	}
}

// threadCPU is the CPU time of the calling thread (the caller must be
// locked to it).
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		panic(errno)
	}
	return time.Duration(ts.Nano())
}

// threadCPUCalibration is what an empty pair of threadCPU readings
// measures: the reading's own cost, taken out of each Enqueue's.
func threadCPUCalibration() time.Duration {
	const n = 1000
	var sum time.Duration
	for range n {
		t0 := threadCPU()
		sum += threadCPU() - t0
	}
	return sum / n
}
