package smartid

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// mustNewLinger is mustNew with a linger window beyond MaxLinger, so a
// test does not depend on how fast the machine is.
func mustNewLinger(t *testing.T, cfg Config, window time.Duration) *Client {
	t.Helper()
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cfg.Linger = window
	c.start()
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// lingering waits until a worker is waiting out a linger window, read
// from the goroutines' stacks (no timing decides it).
func lingering(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for start := time.Now(); time.Since(start) < 10*time.Second; runtime.Gosched() {
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), "smartid.(*turnState).wait") {
			return
		}
	}
	t.Fatal("no worker lingers")
}

// afterOneEvent is a client with a linger window whose first event (u1)
// was delivered and reported, so the next events find its leader
// lingering; obs has room for size reports.
func afterOneEvent(t *testing.T, window time.Duration, size int) (*fakeSmartID, *Client, reports) {
	t.Helper()
	f := newFakeSmartID(t, nil)
	obs := make(reports, size)
	c := mustNewLinger(t, testConfig(f, obs, nil), window)
	enqueueAll(t, c, "u1")
	if rep := obs.next(t); rep.Outcome != OutcomeSent {
		t.Fatalf("report = %+v", rep)
	}
	return f, c, obs
}

func enqueueAll(t *testing.T, c *Client, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := c.Enqueue(login(u)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLingerBatchesSteadyEvents: an event that finds the queue empty
// while events keep coming waits for the next ones, and they go out in one
// write, each answered and received once.
func TestLingerBatchesSteadyEvents(t *testing.T) {
	f, c, obs := afterOneEvent(t, 300*time.Millisecond, 16)
	enqueueAll(t, c, "u2") // soon after u1: the leader lingers
	lingering(t)
	enqueueAll(t, c, "u3", "u4", "u5")
	for range 4 {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if w := c.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2: u1, then u2 to u5 in one", w)
	}
	seen := map[string]int{}
	for range 5 {
		r := f.next(t)
		checkRequest(t, r, "/api/v5/analytics/web/login")
		var ev struct{ User string }
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.User]++
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.assertNoMoreRequests(t)
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		if seen[u] != 1 {
			t.Errorf("%s received %d times", u, seen[u])
		}
	}
	if st := c.Stats(); st.Sent != 5 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestLingerCutShortByClose: Close does not wait out a linger window: the
// held event is delivered and nothing is dropped.
func TestLingerCutShortByClose(t *testing.T) {
	_, c, _ := afterOneEvent(t, 30*time.Second, 16) // far beyond Close's deadline below
	enqueueAll(t, c, "u2")
	lingering(t) // the leader holds it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if st := c.Stats(); st.Sent != 2 || st.Dropped != 0 || st.Failed != 0 || st.QueueDepth != 0 {
		t.Errorf("stats = %+v, want both sent", st)
	}
}

// TestLingerEndsWithFullBatch: once the queue holds what fills the
// lingering leader's pipeline, the wait ends at once and they go out in
// one write.
func TestLingerEndsWithFullBatch(t *testing.T) {
	_, c, obs := afterOneEvent(t, 30*time.Second, 32) // beyond obs.next's guard
	enqueueAll(t, c, "u2")
	lingering(t)
	for i := range maxPipeline - 1 {
		enqueueAll(t, c, fmt.Sprint("v", i))
	}
	for range maxPipeline {
		if rep := obs.next(t); rep.Outcome != OutcomeSent {
			t.Errorf("report = %+v", rep)
		}
	}
	if w := c.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2: u1, then u2 and the rest in one", w)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != maxPipeline+1 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestLingerWaitsForAFullBatch: a batch one event short of full does not
// end the linger (the lingering leader holds no event of its own); the
// event that fills it does, and the batch goes in one write.
func TestLingerWaitsForAFullBatch(t *testing.T) {
	_, c, obs := afterOneEvent(t, 30*time.Second, 32)
	lingering(t)
	for i := range maxPipeline - 1 {
		enqueueAll(t, c, fmt.Sprint("v", i))
	}
	// Time for a leader woken too early to write; a correct one cannot
	// until the window ends or the batch is full, so this cannot fail
	// spuriously.
	time.Sleep(200 * time.Millisecond)
	if w := c.writes.Load(); w != 1 {
		t.Fatalf("%d writes with a batch one short of full, want 1 (u1)", w)
	}
	enqueueAll(t, c, "last")
	for range maxPipeline {
		if rep := obs.next(t); rep.Outcome != OutcomeSent {
			t.Errorf("report = %+v", rep)
		}
	}
	if w := c.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2: u1, then the full batch", w)
	}
}

// TestLingerLeaderBusyPromotes: while the leader waits for a slow answer,
// the next event goes through another worker at once; a linger window does
// not reduce the workers to one.
func TestLingerLeaderBusyPromotes(t *testing.T) {
	f := newFakeSmartID(t, nil)
	release := f.holdRequests()
	defer release()
	c := mustNew(t, testConfig(f, nil, nil))
	enqueueAll(t, c, "u1")
	f.next(t) // held by the server: the leader waits for its answer
	enqueueAll(t, c, "u2")
	f.next(t) // would time out if u2 waited for the leader
	release()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 2 {
		t.Errorf("stats = %+v", st)
	}
	if n := f.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestLingerEveryEventOnce: producers at once, each a trickle with bursts
// in it, to a server whose answers take a varying while, across the
// workers with the default window (lingering, promotions, leaders handing
// over, pipelines of every size): every event reaches the server exactly
// once.
func TestLingerEveryEventOnce(t *testing.T) {
	srv := newOnceServer(t, func(k int) {
		if k%7 == 0 {
			time.Sleep(time.Duration(k%5) * time.Millisecond)
		}
	})
	c := mustNew(t, Config{Endpoint: srv.URL, License: testLicense, ChannelID: 1, QueueSize: 8192})
	const producers, rounds = 4, 100
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			n := 0
			for i := range rounds {
				burst := 1
				if i%25 == p {
					burst = 30
				}
				for range burst {
					if err := c.Enqueue(login(fmt.Sprint("p", p, "-", n))); err != nil {
						t.Error(err)
					}
					n++
				}
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := producers * (rounds + 4*29)
	if st := c.Stats(); st.Sent != uint64(n) || st.Retries != 0 || st.Dropped != 0 {
		t.Errorf("stats = %+v, want %d sent", st, n)
	}
	srv.checkEachOnce(t, n)
}

// TestLingerOff: a negative window turns lingering off: no turn, events
// go as they come.
func TestLingerOff(t *testing.T) {
	f := newFakeSmartID(t, nil)
	cfg := testConfig(f, nil, nil)
	cfg.Linger = -1
	c := mustNew(t, cfg)
	if c.turn != nil {
		t.Fatal("linger off, but the workers take turns")
	}
	enqueueAll(t, c, "u1", "u2")
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestLingerStateBacksOff: waits that bring nothing make the following
// takes skip 1, 3, 7 ... 255 chances to wait; one that brings an event
// resets that, and a quiet spell never waits.
func TestLingerStateBacksOff(t *testing.T) {
	const window = 2 * time.Millisecond
	t0 := time.Unix(1000, 0)
	s := lingerState{lastTake: t0}
	if s.due(t0.Add(window+1), window) {
		t.Error("waits after a quiet spell")
	}
	var waitedAt []int
	for i := range 600 {
		if s.due(t0.Add(window/2), window) {
			waitedAt = append(waitedAt, i)
			s.waited(false)
		}
	}
	want := []int{0, 2, 6, 14, 30, 62, 126, 254, 510}
	if fmt.Sprint(waitedAt) != fmt.Sprint(want) {
		t.Errorf("waited at takes %v, want %v", waitedAt, want)
	}
	s.skip = 0 // as when the last skip is used up
	s.waited(true)
	s.waited(false) // the backoff starts over: one take skipped
	var got []bool
	for range 3 {
		got = append(got, s.due(t0.Add(window/2), window))
	}
	if fmt.Sprint(got) != "[false true true]" {
		t.Errorf("after a fruitful wait and a vain one: waits %v, want [false true true]", got)
	}
}

// TestLingerBeforeTheNextEvent: under steady load the leader waits out
// the window as soon as it has sent, before the next event comes, so that
// event does not wake it; what comes in the window goes in one write.
func TestLingerBeforeTheNextEvent(t *testing.T) {
	_, c, obs := afterOneEvent(t, 300*time.Millisecond, 16)
	lingering(t) // with nothing queued
	if n := len(c.queue); n != 0 {
		t.Fatalf("%d queued", n)
	}
	enqueueAll(t, c, "u2", "u3")
	for range 2 {
		if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 1 {
			t.Errorf("report = %+v", rep)
		}
	}
	if w := c.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2: u1, then u2 and u3 in one", w)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 3 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestLingerEndsWithDueAnswers: a linger window ends with the answers to
// the leader's last batch when they fall due in its last quarter (one
// wake-up for both), and otherwise after the whole window.
func TestLingerEndsWithDueAnswers(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const window = 5 * time.Millisecond
	full := now.Add(window)
	for _, tc := range []struct {
		name  string
		dueAt time.Time
		due   bool
		want  time.Time
	}{
		{"nothing due", now.Add(window - time.Microsecond), false, full},
		{"due just before the end", now.Add(window - 20*time.Microsecond), true, now.Add(window - 20*time.Microsecond)},
		{"due at the last quarter's start", now.Add(window * 3 / 4), true, now.Add(window * 3 / 4)},
		{"due earlier", now.Add(window/2 - time.Microsecond), true, full},
		{"due after the end", now.Add(window + time.Microsecond), true, full},
	} {
		if got := lingerEnd(now, window, tc.dueAt, tc.due); !got.Equal(tc.want) {
			t.Errorf("%s: end %v after the start, want %v", tc.name, got.Sub(now), tc.want.Sub(now))
		}
	}
}

// TestLingerWindowSurvivesHandOver: a leader woken mid-window by its last
// batch's answers hands the turn to a follower when an event waits (see
// promote); the follower finishes the same window instead of opening a
// new one, so no event waits longer than the window. The answer delay is
// stretched to half the window here, which makes a new window show as an
// event held a half-window too long.
func TestLingerWindowSurvivesHandOver(t *testing.T) {
	const window = 800 * time.Millisecond
	f := newFakeSmartID(t, nil)
	obs := make(reports, 16)
	c, err := newClient(testConfig(f, obs, nil))
	if err != nil {
		t.Fatal(err)
	}
	c.cfg.Linger, c.answerDelay = window, window/2
	c.start()
	t.Cleanup(func() { _ = c.Close(context.Background()) })

	enqueueAll(t, c, "u1") // alone: sent at once, answered at once
	if rep := obs.next(t); rep.Outcome != OutcomeSent {
		t.Fatalf("report = %+v", rep)
	}
	enqueueAll(t, c, "u2") // soon after: the leader lingers
	lingering(t)
	enqueueAll(t, c, "u3")
	for range 3 { // u1, then u2 and u3 in one write, their answers due later
		f.next(t)
	}
	// The leader lingers again; its answers fall due halfway through,
	// with u4 waiting: the turn passes to a follower.
	queued := time.Now()
	enqueueAll(t, c, "u4")
	r := f.next(t)
	held := time.Since(queued)
	var ev struct{ User string }
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.User != "u4" {
		t.Fatalf("next event %q, %v", ev.User, err)
	}
	if held > window+window/4 {
		t.Errorf("u4 was held %v, longer than the %v window: the follower opened a window of its own", held, window)
	}
	for range 3 {
		if rep := obs.next(t); rep.Outcome != OutcomeSent {
			t.Errorf("report = %+v", rep)
		}
	}
}
