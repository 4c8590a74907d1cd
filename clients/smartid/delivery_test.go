package smartid

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func login(user string) Login { return Login{User: user, PublicIP: testIP, Data: "d"} }

func statusSequence(codes ...int) func(int) (int, http.Header) {
	return func(n int) (int, http.Header) {
		if n > len(codes) {
			return http.StatusOK, nil
		}
		return codes[n-1], nil
	}
}

func TestQueueFullDropsAndCounts(t *testing.T) {
	f := newFakeSmartID(t, nil)
	release := f.holdRequests()
	defer release()
	obs := make(reports, 16)
	cfg := testConfig(f, obs, nil)
	cfg.Workers, cfg.QueueSize = 1, 1
	c := mustNew(t, cfg)

	if err := c.Enqueue(login("in-flight")); err != nil {
		t.Fatal(err)
	}
	f.next(t) // the only worker is now busy
	if err := c.Enqueue(login("queued")); err != nil {
		t.Fatal(err)
	}
	if err := c.Enqueue(Logout{User: "dropped", Session: "s"}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Enqueue on a full queue = %v, want ErrQueueFull", err)
	}
	rep := obs.next(t)
	if rep.Outcome != OutcomeDropped || rep.Reason != ReasonQueueFull || rep.Event != KindLogout || rep.Channel != ChannelWeb || rep.Attempt != 0 {
		t.Errorf("drop report = %+v", rep)
	}
	if s := c.Stats(); s.Dropped != 1 || s.QueueDepth != 1 || s.Sent != 0 {
		t.Errorf("stats while full = %+v", s)
	}

	release()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := f.next(t); !strings.Contains(string(r.Body), `"queued"`) {
		t.Errorf("second delivery = %s", r.Body)
	}
	f.assertNoMoreRequests(t)
	if s := c.Stats(); s.Sent != 2 || s.Dropped != 1 || s.QueueDepth != 0 || s.Failed != 0 {
		t.Errorf("final stats = %+v", s)
	}
}

func TestRetryOn5xxThenSuccess(t *testing.T) {
	f := newFakeSmartID(t, statusSequence(500, 503, 200))
	obs := make(reports, 16)
	sl := &sleeps{}
	cfg := testConfig(f, obs, sl)
	cfg.BackoffBase, cfg.BackoffMax = 100*time.Millisecond, time.Second
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome Outcome
		status  int
	}{{OutcomeRetry, 500}, {OutcomeRetry, 503}, {OutcomeSent, 200}}
	for i, w := range want {
		rep := obs.next(t)
		if rep.Outcome != w.outcome || rep.Status != w.status || rep.Attempt != i+1 || rep.Event != KindLogin || rep.Err != nil {
			t.Errorf("report %d = %+v, want %s with %d", i, rep, w.outcome, w.status)
		}
	}
	for range 3 {
		checkRequest(t, f.next(t), "/api/v5/analytics/web/login")
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Sent != 1 || s.Retries != 2 || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}
	// Backoff: [50ms,100ms] after attempt 1, [100ms,200ms] after attempt 2.
	got := sl.all()
	if len(got) != 2 || got[0] < 50*time.Millisecond || got[0] > 100*time.Millisecond ||
		got[1] < 100*time.Millisecond || got[1] > 200*time.Millisecond {
		t.Errorf("backoff waits = %v", got)
	}
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	f := newFakeSmartID(t, func(n int) (int, http.Header) {
		switch n {
		case 1:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}
		case 2:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}
		}
		return http.StatusOK, nil
	})
	sl := &sleeps{}
	obs := make(reports, 16)
	cfg := testConfig(f, obs, sl)
	cfg.BackoffMax = 5 * time.Second
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		obs.next(t)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 2*time.Second || got[1] != 5*time.Second {
		t.Errorf("waits = %v, want [2s 5s]", got)
	}
	if s := c.Stats(); s.Sent != 1 || s.Retries != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNoRetryOnOtherStatuses(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 422, 302, 307} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFakeSmartID(t, func(int) (int, http.Header) {
				return code, http.Header{"Location": {"http://elsewhere.invalid/"}}
			})
			sl := &sleeps{}
			obs := make(reports, 4)
			c := mustNew(t, testConfig(f, obs, sl))
			if err := c.Enqueue(login("u")); err != nil {
				t.Fatal(err)
			}
			rep := obs.next(t)
			if rep.Outcome != OutcomeFailed || rep.Status != code || rep.Attempt != 1 {
				t.Errorf("report = %+v", rep)
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.next(t)
			f.assertNoMoreRequests(t)
			if s := c.Stats(); s.Failed != 1 || s.Retries != 0 || s.Sent != 0 {
				t.Errorf("stats = %+v", s)
			}
			if len(sl.all()) != 0 {
				t.Errorf("slept before giving up: %v", sl.all())
			}
		})
	}
}

// refusingThenDialing dials a closed port (a real "connection refused")
// for the first refuse dials, then the fake server.
func refusingThenDialing(t *testing.T, f *fakeSmartID, refuse int32) *http.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	var dials atomic.Int32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			if dials.Add(1) <= refuse {
				return d.DialContext(ctx, network, closed)
			}
			return d.DialContext(ctx, network, f.srv.Listener.Addr().String())
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestRetryOnRefusedConnection(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 16)
	cfg := testConfig(f, obs, &sleeps{})
	cfg.HTTPClient = refusingThenDialing(t, f, 2)
	c := mustNew(t, cfg)
	if err := c.Enqueue(Logout{User: "u", Session: "s"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		rep := obs.next(t)
		if rep.Outcome != OutcomeRetry || rep.Status != 0 || rep.Attempt != i || rep.Err == nil {
			t.Errorf("report %d = %+v, want a retry after a transport error", i, rep)
		}
	}
	if rep := obs.next(t); rep.Outcome != OutcomeSent || rep.Attempt != 3 {
		t.Errorf("final report = %+v", rep)
	}
	checkRequest(t, f.next(t), "/api/v5/analytics/web/logout")
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Sent != 1 || s.Retries != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestAttemptsExhausted(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 16)
	sl := &sleeps{}
	cfg := testConfig(f, obs, sl)
	cfg.MaxAttempts = 3
	cfg.HTTPClient = refusingThenDialing(t, f, 1000)
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Outcome{OutcomeRetry, OutcomeRetry, OutcomeFailed} {
		if rep := obs.next(t); rep.Outcome != want {
			t.Errorf("report = %+v, want %s", rep, want)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Failed != 1 || s.Retries != 2 || s.Sent != 0 {
		t.Errorf("stats = %+v", s)
	}
	if len(sl.all()) != 2 {
		t.Errorf("waits = %v, want 2", sl.all())
	}
}

func TestBackoffDelayBounds(t *testing.T) {
	base, maxD := 200*time.Millisecond, 5*time.Second
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	for i, d := range want {
		n := i + 1
		if lo := backoffDelay(base, maxD, n, 0); lo != d/2 {
			t.Errorf("attempt %d: low = %v, want %v", n, lo, d/2)
		}
		if hi := backoffDelay(base, maxD, n, 0.999999); hi > d || hi < d-d/1000 {
			t.Errorf("attempt %d: high = %v, want just under %v", n, hi, d)
		}
	}
	if d := backoffDelay(base, maxD, 1000, 0.5); d > maxD {
		t.Errorf("attempt 1000 = %v, beyond the cap", d)
	}
}

func TestDefaultSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepContext on a cancelled context = %v", err)
	}
	if err := sleepContext(context.Background(), 0); err != nil {
		t.Errorf("zero sleep = %v", err)
	}
}

// TestPerAttemptTimeout: an attempt that outlives Config.Timeout is a
// retryable transport error. A 1ns timeout expires before the dial, so
// no real time has to pass.
func TestPerAttemptTimeout(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 8)
	cfg := testConfig(f, obs, nil)
	cfg.Timeout, cfg.MaxAttempts = time.Nanosecond, 2
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Outcome{OutcomeRetry, OutcomeFailed} {
		rep := obs.next(t)
		if rep.Outcome != want || !errors.Is(rep.Err, context.DeadlineExceeded) {
			t.Errorf("report = %+v, want %s after a deadline", rep, want)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Failed != 1 || s.Retries != 1 {
		t.Errorf("stats = %+v", s)
	}
}

// TestKeepAlive: sequential deliveries by one worker share one connection.
func TestKeepAlive(t *testing.T) {
	f := newFakeSmartID(t, nil)
	obs := make(reports, 8)
	cfg := testConfig(f, obs, nil)
	cfg.Workers = 1
	c := mustNew(t, cfg)
	for i := range 5 {
		if err := c.Enqueue(login("u")); err != nil {
			t.Fatal(err)
		}
		if rep := obs.next(t); rep.Outcome != OutcomeSent {
			t.Fatalf("delivery %d: %+v", i, rep)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential events, want 1", n)
	}
}

// TestCallersClientFollowsNoRedirect: with Config.HTTPClient set, a 3xx
// still ends the event, as with the default sender. net/http's own policy
// would follow a 307 and, the host name being the same (another port on
// it, or http instead of https), send the license along.
func TestCallersClientFollowsNoRedirect(t *testing.T) {
	elsewhere := newFakeSmartID(t, nil)
	f := newFakeSmartID(t, func(int) (int, http.Header) {
		return http.StatusTemporaryRedirect, http.Header{"Location": {elsewhere.srv.URL + "/api/v5/analytics/web/login"}}
	})
	obs := make(reports, 4)
	cfg := testConfig(f, obs, nil)
	cfg.HTTPClient = &http.Client{}
	c := mustNew(t, cfg)
	if err := c.Enqueue(login("u")); err != nil {
		t.Fatal(err)
	}
	if rep := obs.next(t); rep.Outcome != OutcomeFailed || rep.Status != http.StatusTemporaryRedirect {
		t.Errorf("report = %+v", rep)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.next(t)
	elsewhere.assertNoMoreRequests(t)
	if cfg.HTTPClient.CheckRedirect != nil {
		t.Error("the caller's client was changed")
	}
}
