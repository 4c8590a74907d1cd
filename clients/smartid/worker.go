package smartid

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxResponseBytes caps how much of SmartID's answer is read: enough to
// drain a normal reply so the connection is reused, never more.
const maxResponseBytes = 64 << 10

// Pipelining bounds: how many queued events one write may carry.
const (
	maxPipeline      = 16
	maxPipelineBytes = 32 << 10
)

// worker delivers queued jobs until Close, then drains the queue; once
// Close's deadline passes (runCtx cancelled) it drops what it still takes.
// With the lean sender each worker owns one connection.
func (c *Client) worker() {
	var w *wireConn
	if c.wire != nil {
		w = newWireConn(c.wire, c.runCtx, c.cfg, &c.writes)
	}
	defer func() {
		if w != nil {
			w.close()
		}
		if c.live.Add(-1) == 0 {
			close(c.workersDone)
		}
	}()
	for {
		select {
		case j := <-c.queue:
			c.deliverQueued(w, j)
		case <-c.stopping:
			c.drain(w)
			return
		}
	}
}

func (c *Client) drain(w *wireConn) {
	for {
		select {
		case j := <-c.queue:
			if c.runCtx.Err() != nil {
				c.drop(j, ReasonShutdown)
				continue
			}
			c.deliverQueued(w, j)
		default:
			return
		}
	}
}

// deliverQueued delivers j and, with the lean sender, the events already
// waiting behind it: written back to back in one write and answered in
// order (HTTP/1.1 pipelining), which saves most of the per-event system
// calls during a burst. It never waits for more events to come. A POST is
// not idempotent, so pipelining it is allowed only with a way to recover
// from a partial failure (RFC 9112 §9.3.2): every answer is matched to its
// event, an event whose answer never came is sent again on its own, and a
// server that drops a pipeline switches pipelining off for good.
//
// Once Close was called events go one per request again: when Close's
// deadline cuts the drain short, the events in flight are counted as
// dropped though SmartID may still take them, and one per worker keeps
// that doubt as small as it was without pipelining.
func (c *Client) deliverQueued(w *wireConn, j job) {
	if w == nil || c.http2Only.Load() || c.noPipeline.Load() || c.isStopping() {
		c.deliver(w, j, 1)
		return
	}
	b := append(w.jobs[:0], j)
	for size := len(*j.body); len(b) < maxPipeline && size < maxPipelineBytes; {
		select {
		case next := <-c.queue:
			b = append(b, next)
			size += len(*next.body)
			continue
		default:
		}
		break
	}
	if len(b) == 1 {
		c.deliver(w, j, 1)
	} else {
		c.deliverPipelined(w, b)
	}
	clear(b)
	w.jobs = b[:0]
}

func (c *Client) isStopping() bool {
	select {
	case <-c.stopping:
		return true
	default:
		return false
	}
}

// deliverPipelined sends the jobs in one write and settles each by its
// answer; those that need another attempt continue on their own.
func (c *Client) deliverPipelined(w *wireConn, b []job) {
	ex := w.exchanges[:0]
	for _, j := range b {
		ex = append(ex, exchange{head: c.wire.head(j.channel, j.kind), body: *j.body})
	}
	start := time.Now()
	answered, broken, err := w.send(ex, start)
	dur := time.Since(start)
	if broken {
		c.noPipeline.Store(true)
	}
	if errors.Is(err, errHTTP2Only) {
		c.http2Only.Store(true)
		err = nil // nothing was sent: every job goes again on its own
	}
	// Final outcomes first, so an event that needs a backoff does not hold
	// back the reports of those already settled.
	type pending struct {
		j    job
		next int           // the attempt to make
		wait time.Duration // before it
	}
	var later [maxPipeline]pending
	n := 0
	for i, j := range b {
		switch {
		case i < answered:
			r := attemptResult{status: ex[i].resp.status, ra: ex[i].resp.retryAfter, dur: dur}
			if retry, wait := c.settle(j, 1, r); retry {
				later[n], n = pending{j, 2, wait}, n+1
			}
		case i == answered && err != nil:
			if retry, wait := c.settle(j, 1, attemptResult{dur: dur, err: err}); retry {
				later[n], n = pending{j, 2, wait}, n+1
			}
		default:
			// Never answered: not an attempt that failed.
			later[n], n = pending{j, 1, 0}, n+1
		}
	}
	clear(ex)
	w.exchanges = ex[:0]
	for _, p := range later[:n] {
		if p.wait > 0 && c.cfg.Sleep(c.runCtx, p.wait) != nil {
			c.drop(p.j, ReasonShutdown)
			continue
		}
		c.deliver(w, p.j, p.next)
	}
}

// attemptResult is one attempt's outcome: the status (0 on a transport
// error), the Retry-After of a 429 or 503, and whether net/http carried
// the body (which then may not go back to the pool: a RoundTripper may
// still read a request body after it returned).
type attemptResult struct {
	status  int
	ra, dur time.Duration
	viaHTTP bool
	err     error
}

// deliver makes attempts first, first+1, ... for j with bounded, jittered
// retries on network errors, 5xx and 429.
func (c *Client) deliver(w *wireConn, j job, first int) {
	body := *j.body
	for attempt := first; ; attempt++ {
		r := c.attempt(w, j, body)
		if r.viaHTTP {
			j.body = nil
		}
		retry, wait := c.settle(j, attempt, r)
		if !retry {
			return
		}
		if c.cfg.Sleep(c.runCtx, wait) != nil {
			c.drop(j, ReasonShutdown)
			return
		}
	}
}

// settle counts and reports an attempt. It returns whether another
// attempt follows and the wait before it; otherwise j is finished and its
// body given back.
func (c *Client) settle(j job, attempt int, r attemptResult) (retry bool, wait time.Duration) {
	rep := Report{Event: j.kind, Channel: j.channel, Attempt: attempt, Status: r.status, Duration: r.dur, Err: r.err}
	if c.runCtx.Err() != nil && (r.err != nil || r.status == 0) {
		// Close's deadline cut the attempt short: not SmartID's failure.
		c.drop(j, ReasonShutdown)
		return false, 0
	}
	switch {
	case r.err == nil && r.status >= 200 && r.status < 300:
		c.sent.Add(1)
		rep.Outcome = OutcomeSent
		c.observer.Observe(rep)
		releaseBody(j.body)
		return false, 0
	case !retryable(r.status, r.err) || attempt >= c.cfg.MaxAttempts:
		c.failed.Add(1)
		rep.Outcome = OutcomeFailed
		c.observer.Observe(rep)
		releaseBody(j.body)
		return false, 0
	}
	c.retries.Add(1)
	rep.Outcome = OutcomeRetry
	c.observer.Observe(rep)
	wait = backoffDelay(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt, jitter())
	if r.ra > 0 {
		wait = r.ra
	}
	return true, wait
}

// attempt performs one POST through the lean sender when it can, else
// through net/http.
func (c *Client) attempt(w *wireConn, j job, body []byte) attemptResult {
	start := time.Now()
	if w != nil && !c.http2Only.Load() {
		ex := [1]exchange{{head: c.wire.head(j.channel, j.kind), body: body}}
		_, _, err := w.send(ex[:], start)
		if !errors.Is(err, errHTTP2Only) {
			return attemptResult{status: ex[0].resp.status, ra: ex[0].resp.retryAfter, dur: time.Since(start), err: err}
		}
		// The server speaks HTTP/2 only: net/http from now on.
		c.http2Only.Store(true)
	}
	status, ra, err := c.attemptHTTP(c.url(j.channel, j.kind), body, start)
	return attemptResult{status: status, ra: ra, dur: time.Since(start), viaHTTP: true, err: err}
}

// roundTrip sends one request. With the client's own HTTP client it goes
// straight to the transport: that client follows no redirect and keeps no
// cookies, so http.Client.Do would only add work per event (a copy of the
// headers kept for redirects, its own bookkeeping) and change nothing. A
// caller's client is used as given.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	if c.ownsHTTP {
		return c.http.Transport.RoundTrip(req)
	}
	return c.http.Do(req)
}

func retryable(status int, err error) bool {
	return err != nil || status >= 500 || status == http.StatusTooManyRequests
}

// attemptHTTP performs one POST through net/http.
func (c *Client) attemptHTTP(url string, body []byte, start time.Time) (int, time.Duration, error) {
	ctx, cancel := context.WithDeadline(c.runCtx, start.Add(c.cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.bearer)
	resp, err := c.roundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	var ra time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		ra = retryAfter(resp.Header, c.cfg.BackoffMax)
	}
	return resp.StatusCode, ra, nil
}
