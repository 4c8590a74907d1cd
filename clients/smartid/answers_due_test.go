package smartid

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// newDeferring is a one-worker client with a linger window and an answer
// delay of the test's choosing, beyond what the test waits for where
// nothing should be read, so no timing decides what a test sees.
func newDeferring(t *testing.T, cfg Config, window, answerDelay time.Duration) *Client {
	t.Helper()
	cfg.Workers = 1
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cfg.Linger = window
	c.answerDelay = answerDelay
	c.start()
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// writeBatch sends u1 alone, then a full pipeline (u2 held by the
// lingering leader and 15 more) in one write, and waits until the server
// has all 17.
func writeBatch(t *testing.T, c *Client, f *fakeSmartID, obs reports) {
	t.Helper()
	enqueueAll(t, c, "u1")
	if rep := obs.next(t); rep.Outcome != OutcomeSent {
		t.Fatalf("report = %+v", rep)
	}
	enqueueAll(t, c, "u2")
	lingering(t)
	for i := range maxPipeline - 1 {
		enqueueAll(t, c, fmt.Sprint("v", i))
	}
	for range maxPipeline + 1 {
		f.next(t)
	}
}

// batchUnanswered is a deferring client (window and answer delay far
// beyond the test) that has written a full batch after u1, its answers
// still unread in the socket, and whose worker waits for what comes next.
func batchUnanswered(t *testing.T) (*Client, *fakeSmartID, reports) {
	t.Helper()
	f := newFakeSmartID(t, nil)
	obs := make(reports, 64)
	c := newDeferring(t, testConfig(f, obs, nil), 30*time.Second, 30*time.Second)
	writeBatch(t, c, f, obs)
	workerWaiting(t)
	return c, f, obs
}

// workerWaiting waits until the only worker waits for what comes next (in
// its loop or a linger wait): not in a delivery, not on a socket.
func workerWaiting(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for start := time.Now(); time.Since(start) < 10*time.Second; runtime.Gosched() {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if !strings.Contains(g, "smartid.(*Client).worker(") {
				continue
			}
			first, _, _ := strings.Cut(g, "\n")
			if strings.Contains(first, "[select") && !strings.Contains(g, "smartid.(*Client).deliver") &&
				!strings.Contains(g, "smartid.(*Client).readDue") && !strings.Contains(g, "smartid.(*wireConn)") {
				return
			}
		}
	}
	t.Fatal("the worker is not waiting for work")
}

// TestPipelinedAnswersReadBeforeNextWrite: after writing a batch the
// worker does not wait for its answers; it reads them all before its next
// write on the connection, and only then are the events sent.
func TestPipelinedAnswersReadBeforeNextWrite(t *testing.T) {
	c, f, obs := batchUnanswered(t)
	if n, st := len(obs), c.Stats(); n != 0 || st.Sent != 1 {
		t.Fatalf("%d reports and stats %+v before the answers were read, want none and 1 sent", n, st)
	}
	// A full batch more ends the leader's linger at once: the worker reads
	// the first batch's answers, then writes the second.
	for i := range maxPipeline {
		enqueueAll(t, c, fmt.Sprint("w", i))
	}
	for range maxPipeline {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	for range maxPipeline {
		f.next(t)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.assertNoMoreRequests(t)
	if st := c.Stats(); st.Sent != 2*maxPipeline+1 || st.Retries != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
	if w := c.writes.Load(); w != 3 {
		t.Errorf("%d writes, want 3", w)
	}
}

// TestCloseReadsDueAnswers: Close with a batch's answers still unread
// reads them: every event is sent once, none dropped or sent again.
func TestCloseReadsDueAnswers(t *testing.T) {
	c, f, _ := batchUnanswered(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f.assertNoMoreRequests(t)
	if st := c.Stats(); st.Sent != maxPipeline+1 || st.Retries != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestDueAnswersReadPastTimeout: answers read when the worker's timer
// fires, after the write's timeout has passed, count: they were waiting in
// the socket, so nothing is retried or sent twice.
func TestDueAnswersReadPastTimeout(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 64)
	cfg := testConfig(f, obs, nil)
	cfg.Timeout = 50 * time.Millisecond
	c := newDeferring(t, cfg, 30*time.Second, 300*time.Millisecond)
	writeBatch(t, c, f, obs)
	for range maxPipeline {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.assertNoMoreRequests(t)
	if st := c.Stats(); st.Sent != maxPipeline+1 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
}
