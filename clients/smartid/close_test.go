package smartid

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCloseDrainsQueuedEvents(t *testing.T) {
	f := newFakeSmartID(t, nil)
	release := f.holdRequests()
	defer release()
	cfg := testConfig(f, nil, nil)
	cfg.Workers, cfg.QueueSize = 1, 8
	c := mustNew(t, cfg)
	for i := range 6 {
		if err := c.Enqueue(login(fmt.Sprint("user", i))); err != nil {
			t.Fatal(err)
		}
	}
	f.next(t) // first in flight, five queued

	closed := make(chan error, 1)
	go func() { closed <- c.Close(context.Background()) }()
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	for range 5 {
		f.next(t)
	}
	f.assertNoMoreRequests(t)
	if s := c.Stats(); s.Sent != 6 || s.Dropped != 0 || s.QueueDepth != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestCloseDeadlineAbandonsAndCounts(t *testing.T) {
	f := newFakeSmartID(t, nil)
	release := f.holdRequests() // never released before Close: the server hangs
	defer release()
	obs := make(reports, 16)
	cfg := testConfig(f, obs, nil)
	cfg.Workers, cfg.QueueSize = 1, 8
	c := mustNew(t, cfg)
	for i := range 3 {
		if err := c.Enqueue(login(fmt.Sprint("user", i))); err != nil {
			t.Fatal(err)
		}
	}
	f.next(t) // one in flight, two queued

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has already passed
	err := c.Close(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "events abandoned: 3") {
		t.Fatalf("Close = %v, want 3 abandoned with context.Canceled", err)
	}
	for range 3 {
		if rep := obs.next(t); rep.Outcome != OutcomeDropped || rep.Reason != ReasonShutdown || rep.Event != KindLogin {
			t.Errorf("report = %+v, want a shutdown drop", rep)
		}
	}
	if s := c.Stats(); s.Dropped != 3 || s.Sent != 0 || s.Failed != 0 || s.QueueDepth != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// TestCloseDeadlineInterruptsBackoff: an event waiting to retry is dropped
// as "shutdown" when Close's deadline passes, not left sleeping.
func TestCloseDeadlineInterruptsBackoff(t *testing.T) {
	f := newFakeSmartID(t, statusSequence(500))
	obs := make(reports, 16)
	cfg := testConfig(f, obs, nil)
	cfg.Workers = 1
	waiting := make(chan struct{})
	cfg.Sleep = func(ctx context.Context, _ time.Duration) error {
		close(waiting)
		<-ctx.Done()
		return ctx.Err()
	}
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	<-waiting
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "events abandoned: 1") {
		t.Fatalf("Close = %v", err)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeRetry || rep.Status != 500 {
		t.Errorf("first report = %+v", rep)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeDropped || rep.Reason != ReasonShutdown {
		t.Errorf("second report = %+v", rep)
	}
	if s := c.Stats(); s.Dropped != 1 || s.Retries != 1 || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// workerGoroutines counts goroutines the client spawned, by their
// creator: New (the workers, started or not yet scheduled) or any Client
// method.
func workerGoroutines() int {
	const pkg = "created by github.com/login-guard/login_guard/clients/smartid."
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, pkg+"New") || strings.Contains(g, pkg+"(*Client)") {
			n++
		}
	}
	return n
}

// settledWorkerGoroutines counts workers after letting exiting ones
// finish: Close returns once every worker signalled its exit, but a worker
// may still be returning from that deferred signal. It waits, at most
// ten seconds (a loaded machine running -race can take many scheduler
// turns), until at most want remain.
func settledWorkerGoroutines(want int) int {
	n := workerGoroutines()
	for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		n = workerGoroutines()
	}
	return n
}

func TestNoGoroutinesLeftAfterClose(t *testing.T) {
	f := newFakeSmartID(t, nil)
	if before := settledWorkerGoroutines(0); before != 0 {
		t.Fatalf("%d worker goroutines left over by earlier tests", before)
	}
	cfg := testConfig(f, nil, nil)
	cfg.Workers = 7
	c := mustNew(t, cfg)
	if got := workerGoroutines(); got != 7 {
		t.Fatalf("%d workers running, want 7", got)
	}
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := settledWorkerGoroutines(0); got != 0 {
		t.Errorf("%d worker goroutines left after Close", got)
	}
}

// TestLicenseNeverInErrors gathers every error and report the client can
// produce on a bad day and looks for the license.
func TestLicenseNeverInErrors(t *testing.T) {
	var texts []string
	add := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	f := newFakeSmartID(t, nil)
	release := f.holdRequests()
	defer release()
	obs := make(reports, 64)
	cfg := testConfig(f, obs, &sleeps{})
	cfg.Workers, cfg.QueueSize, cfg.MaxAttempts = 1, 1, 2
	cfg.Timeout = time.Nanosecond // every attempt times out: transport errors
	c := mustNew(t, cfg)
	add(c.Enqueue(login("u")))
	add(c.Enqueue(Login{}))
	add(c.Enqueue(login("v")))
	add(c.Enqueue(login("w")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	add(c.Close(ctx))
	add(c.Enqueue(login("x")))
	for len(obs) > 0 {
		rep := <-obs
		add(rep.Err)
		texts = append(texts, fmt.Sprintf("%+v", rep))
	}
	for _, bad := range []Config{
		{Endpoint: "https://a:" + testLicense + "@h", License: testLicense},
		{Endpoint: "https://h/?" + testLicense, License: testLicense},
		{Endpoint: "https://h", License: testLicense, Environment: "x"},
		{Endpoint: "https://h", License: testLicense + "\r\n"},
	} {
		_, err := New(bad)
		add(err)
	}
	if len(texts) < 8 {
		t.Fatalf("only %d texts collected: %q", len(texts), texts)
	}
	for _, s := range texts {
		if strings.Contains(s, testLicense) || strings.Contains(s, "SECRET") {
			t.Errorf("license leaked: %s", s)
		}
	}
}
