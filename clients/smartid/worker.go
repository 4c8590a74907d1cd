package smartid

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// maxResponseBytes caps how much of SmartID's answer is read: enough to
// drain a normal reply so the connection is reused, never more.
const maxResponseBytes = 64 << 10

// worker delivers queued jobs until Close, then drains the queue; once
// Close's deadline passes (runCtx cancelled) it drops what it still takes.
func (c *Client) worker() {
	defer func() {
		if c.live.Add(-1) == 0 {
			close(c.workersDone)
		}
	}()
	for {
		select {
		case j := <-c.queue:
			c.deliver(j)
		case <-c.stopping:
			c.drain()
			return
		}
	}
}

func (c *Client) drain() {
	for {
		select {
		case j := <-c.queue:
			if c.runCtx.Err() != nil {
				c.drop(j, ReasonShutdown)
				continue
			}
			c.deliver(j)
		default:
			return
		}
	}
}

// deliver sends one job with bounded, jittered retries on network errors,
// 5xx and 429.
func (c *Client) deliver(j job) {
	url := c.url(j.channel, j.kind)
	for attempt := 1; ; attempt++ {
		status, header, dur, err := c.attempt(url, j.body)
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
			return
		case !retryable(status, err) || attempt >= c.cfg.MaxAttempts:
			c.failed.Add(1)
			rep.Outcome = OutcomeFailed
			c.observer.Observe(rep)
			return
		}
		c.retries.Add(1)
		rep.Outcome = OutcomeRetry
		c.observer.Observe(rep)
		wait := backoffDelay(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt, jitter())
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			if ra := retryAfter(header, c.cfg.BackoffMax); ra > 0 {
				wait = ra
			}
		}
		if c.cfg.Sleep(c.runCtx, wait) != nil {
			c.drop(j, ReasonShutdown)
			return
		}
	}
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

// attempt performs one POST and returns its status (0 on a transport
// error) and the response header.
func (c *Client) attempt(url string, body []byte) (int, http.Header, time.Duration, error) {
	ctx, cancel := context.WithTimeout(c.runCtx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.bearer)
	start := time.Now()
	resp, err := c.roundTrip(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	return resp.StatusCode, resp.Header, time.Since(start), nil
}
