package smartid

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// fakeServerEnv makes the test binary a SmartID stand-in (see TestMain):
// the delivery benchmark runs it as its own process, so the CPU the
// benchmark reports is the client's alone.
const fakeServerEnv = "LOGIN_GUARD_SMARTID_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServerEnv) == "1" {
		serveForBenchmark()
		return
	}
	os.Exit(m.Run())
}

// serveForBenchmark answers every event 200 on a loopback port it prints,
// until its stdin closes.
func serveForBenchmark() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
}

// startFakeServer runs the stand-in and returns its base URL.
func startFakeServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(addr)
}

// BenchmarkDeliveryLoopback is the whole delivery path as the guard pays
// for it: validate, encode and queue a login event, then a worker POSTs it
// over a kept-alive loopback connection to a SmartID stand-in running in
// another process and reads the answer. cpu-ns/op is this process's CPU
// per event (the server's is not in it); Close waits for every event, so
// all deliveries are inside the measurement. The loop keeps at most 256
// events undelivered (an Observer hands back a slot per event settled):
// enqueueing is far quicker than delivery, and an unbounded loop would
// only measure a full queue. Events wait in the queue, as in a burst of
// logins, so the workers pipeline them.
func BenchmarkDeliveryLoopback(b *testing.B) { benchDelivery(b, 256) }

// voluntarySwitches counts the times this process's threads went to sleep
// (on a futex, in epoll_wait, in nanosleep): each one a wake-up, which is
// where the delivery's CPU goes at low rates. vcsw/op is that per event,
// the benchmark's own goroutine included.
func voluntarySwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw
}

// BenchmarkDeliveryLoopbackSerial is the same with one event in flight at
// a time: no queue, so every event is a write and a read of its own, the
// cost of a quiet guard's login.
func BenchmarkDeliveryLoopbackSerial(b *testing.B) { benchDelivery(b, 1) }

func benchDelivery(b *testing.B, inFlight int) {
	url := startFakeServer(b)
	slots := make(chan struct{}, inFlight)
	obs := ObserverFunc(func(r Report) {
		if r.Outcome != OutcomeRetry {
			<-slots
		}
	})
	c, err := New(Config{Endpoint: url, License: testLicense, ChannelID: 1, QueueSize: 2 * inFlight, Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Login{User: "jlopez", Session: "445613456fa", PublicIP: testIP, Data: benchDevice}
	enqueue := func() {
		slots <- struct{}{}
		if err := c.Enqueue(ev); err != nil {
			b.Fatal(err)
		}
	}
	// Warm the connections.
	for range 16 {
		enqueue()
	}
	b.ReportAllocs()
	benchcpu.PerOp(b)
	writes0, sleeps0 := c.writes.Load(), voluntarySwitches()
	for b.Loop() {
		enqueue()
	}
	if err := c.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if w := c.writes.Load() - writes0; w > 0 {
		b.ReportMetric(float64(b.N)/float64(w), "events/write")
	}
	b.ReportMetric(float64(voluntarySwitches()-sleeps0)/float64(b.N), "vcsw/op")
	if st := c.Stats(); st.Dropped > 0 || st.Failed > 0 {
		b.Fatalf("dropped %d, failed %d", st.Dropped, st.Failed)
	}
}
