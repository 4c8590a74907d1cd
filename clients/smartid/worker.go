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

// worker delivers queued jobs until Close, then drains the queue; once
// Close's deadline passes (runCtx cancelled) it drops what it still takes.
// With the lean sender each worker owns one connection.
func (c *Client) worker() {
	var w *wireConn
	if c.wire != nil {
		w = newWireConn(c.wire, c.runCtx, c.cfg)
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
			c.deliver(w, j)
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
			c.deliver(w, j)
		default:
			return
		}
	}
}

// deliver sends one job with bounded, jittered retries on network errors,
// 5xx and 429, then gives its body back to the pool unless net/http had
// it: a RoundTripper may still read a request body after it returned.
func (c *Client) deliver(w *wireConn, j job) {
	body := *j.body
	for attempt := 1; ; attempt++ {
		status, ra, dur, viaHTTP, err := c.attempt(w, j, body)
		if viaHTTP {
			j.body = nil
		}
		rep := Report{Event: j.kind, Channel: j.channel, Attempt: attempt, Status: status, Duration: dur, Err: err}
		if c.runCtx.Err() != nil && (err != nil || status == 0) {
			// Close's deadline cut the attempt short: not SmartID's failure.
			c.drop(j, ReasonShutdown)
			return
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			c.sent.Add(1)
			rep.Outcome = OutcomeSent
			c.observer.Observe(rep)
			releaseBody(j.body)
			return
		case !retryable(status, err) || attempt >= c.cfg.MaxAttempts:
			c.failed.Add(1)
			rep.Outcome = OutcomeFailed
			c.observer.Observe(rep)
			releaseBody(j.body)
			return
		}
		c.retries.Add(1)
		rep.Outcome = OutcomeRetry
		c.observer.Observe(rep)
		wait := backoffDelay(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt, jitter())
		if ra > 0 {
			wait = ra
		}
		if c.cfg.Sleep(c.runCtx, wait) != nil {
			c.drop(j, ReasonShutdown)
			return
		}
	}
}

// attempt performs one POST through the lean sender when it can, else
// through net/http, and returns the status (0 on a transport error), the
// Retry-After of a 429 or 503, and whether net/http carried it.
func (c *Client) attempt(w *wireConn, j job, body []byte) (status int, ra, dur time.Duration, viaHTTP bool, err error) {
	start := time.Now()
	if w != nil && !c.http2Only.Load() {
		resp, err := w.post(c.wire.head(j.channel, j.kind), body, start)
		if !errors.Is(err, errHTTP2Only) {
			return resp.status, resp.retryAfter, time.Since(start), false, err
		}
		// The server speaks HTTP/2 only: net/http from now on.
		c.http2Only.Store(true)
	}
	status, ra, err = c.attemptHTTP(c.url(j.channel, j.kind), body, start)
	return status, ra, time.Since(start), true, err
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
