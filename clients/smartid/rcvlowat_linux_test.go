package smartid

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDeferredAnswersMuted: while a batch's answers wait to be read, the
// worker's socket has its low-water mark raised, so their arrival wakes
// nothing; before reading them the worker lowers it again, so answers
// that come only while it reads are read as they come, not when the read
// times out.
func TestDeferredAnswersMuted(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 64)
	cfg := testConfig(f, obs, nil)
	cfg.Timeout = 30 * time.Second // beyond the test's own guard
	c := newDeferring(t, cfg, 30*time.Second, 30*time.Second)
	enqueueAll(t, c, "u1")
	if rep := obs.next(t); rep.Outcome != OutcomeSent {
		t.Fatalf("report = %+v", rep)
	}
	f.next(t)
	if got := clientRcvLowat(t, f.srv.Listener.Addr()); got != 1 {
		t.Fatalf("SO_RCVLOWAT = %d after an answer read at once, want 1", got)
	}

	// The server answers nothing until released: u2 reaches it, the rest
	// of the batch waits behind u2 in the pipeline.
	release := f.holdRequests()
	defer release()
	enqueueAll(t, c, "u2")
	lingering(t)
	for i := range maxPipeline - 1 {
		enqueueAll(t, c, fmt.Sprint("v", i))
	}
	f.next(t)
	workerWaiting(t)
	if got := clientRcvLowat(t, f.srv.Listener.Addr()); got != mutedLowat {
		t.Fatalf("SO_RCVLOWAT = %d with the answers due, want %d", got, mutedLowat)
	}

	// A full batch more: the worker reads the first batch's answers before
	// writing it, and waits for them on the socket.
	for i := range maxPipeline {
		enqueueAll(t, c, fmt.Sprint("w", i))
	}
	readingAnswers(t)
	release()
	for range maxPipeline {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	// The second batch's answers are read by Close.
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 2*maxPipeline+1 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// readingAnswers waits until the only worker waits on its socket for
// answers it reads late.
func readingAnswers(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for start := time.Now(); time.Since(start) < 10*time.Second; runtime.Gosched() {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			first, _, _ := strings.Cut(g, "\n")
			if strings.Contains(g, "smartid.(*wireConn).readLate(") && strings.Contains(first, "[IO wait") {
				return
			}
		}
	}
	t.Fatal("the worker does not wait for answers")
}

// clientRcvLowat is the SO_RCVLOWAT of this process's one socket
// connected to server.
func clientRcvLowat(t *testing.T, server net.Addr) int {
	t.Helper()
	want := server.(*net.TCPAddr)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	found, lowat := 0, 0
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		peer, err := syscall.Getpeername(fd)
		if err != nil {
			continue
		}
		sa, ok := peer.(*syscall.SockaddrInet4)
		if !ok || sa.Port != want.Port || !net.IP(sa.Addr[:]).Equal(want.IP) {
			continue
		}
		if lowat, err = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVLOWAT); err != nil {
			t.Fatal(err)
		}
		found++
	}
	if found != 1 {
		t.Fatalf("%d connections to the server, want 1", found)
	}
	return lowat
}
