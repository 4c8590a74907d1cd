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
//
// With a linger window (Config.Linger) the workers are a leader and
// followers: only the leader, the worker that holds the turn, waits on
// the queue, so the events that arrive while it lingers stay queued for
// it instead of waking a worker each. The leader keeps the turn while it
// sends, and takes the next events itself when it is done, so a steady
// trickle costs no hand-over; only when events queue up behind it while
// it sends does Enqueue hand the turn to a follower (see promote), which
// keeps the workers' concurrency for a burst or a slow SmartID.
func (c *Client) worker(id uint64) {
	var w *wireConn
	if c.wire != nil {
		w = newWireConn(c.wire, c.runCtx, c.cfg, &c.writes)
	}
	ts := turnState{id: id}
	batch := make([]job, 0, maxPipeline)
	defer func() {
		ts.stop()
		if w != nil {
			w.due.stop()
			w.close()
		}
		if c.live.Add(-1) == 0 {
			close(c.workersDone)
		}
	}()
	leader := false
	for {
		// A worker with answers due reads them when its timer fires (see
		// dueAnswers), whatever turn it is waiting for.
		if c.turn == nil {
			select {
			case j := <-c.queue:
				c.deliverBatch(w, c.take(w, batch, j, nil))
			case <-dueC(w):
				c.readDue(w)
			case <-c.stopping:
				c.drain(w)
				return
			}
			continue
		}
		if !leader {
			select {
			case <-c.turn:
				leader = true
			case <-dueC(w):
				c.readDue(w)
				continue
			case <-c.stopping:
				c.drain(w)
				return
			}
		}
		if b, still := c.lingerFirst(w, batch, &ts); !still || len(b) > 0 {
			if len(b) > 0 {
				c.deliverBatch(w, b)
				still = c.leaderBusy.CompareAndSwap(id, 0)
			}
			leader = still
			continue
		}
		select {
		case j := <-c.queue:
			c.deliverBatch(w, c.take(w, batch, j, &ts))
			// Still the leader unless promote handed the turn on meanwhile.
			leader = c.leaderBusy.CompareAndSwap(id, 0)
		case <-dueC(w):
			// Busy as when sending: a retry's backoff may hold it up.
			c.busy(&ts)
			c.promote()
			c.readDue(w)
			leader = c.leaderBusy.CompareAndSwap(id, 0)
		case <-c.stopping:
			c.drain(w)
			return
		}
	}
}

// queued is Enqueue's part in the turns, after it queued an event: a full
// batch waiting ends the leader's linger (there is nothing more to wait
// for), and an event waiting behind a busy leader promotes a follower.
func (c *Client) queued() {
	if c.turn == nil {
		return
	}
	// The lingering leader holds no event of its own (lingerFirst runs
	// before it takes one): a batch is full when maxPipeline are queued.
	// Signalling one short woke it to write a batch one event short and
	// leave the last to wait out the next window.
	if len(c.queue) >= maxPipeline {
		select {
		case c.batchReady <- struct{}{}:
		default:
		}
	}
	c.promote()
}

// promote hands the turn to a follower when an event Enqueue just queued
// waits behind a leader that is busy sending. The turn's token is then
// back in c.turn, and the busy leader, no longer finding its id in
// leaderBusy, becomes a follower when it is done. A leader marks itself
// busy only between taking a batch and that check, so there is always
// exactly one leader or one token, and the send never blocks.
func (c *Client) promote() {
	if c.turn == nil || len(c.queue) == 0 {
		return
	}
	if id := c.leaderBusy.Load(); id != 0 && c.leaderBusy.CompareAndSwap(id, 0) {
		c.turn <- struct{}{}
	}
}

func (c *Client) drain(w *wireConn) {
	c.readDue(w)
	for {
		select {
		case j := <-c.queue:
			if c.runCtx.Err() != nil {
				c.drop(j, ReasonShutdown)
				continue
			}
			c.deliver(w, j, 1)
		default:
			return
		}
	}
}

// take returns the batch that j starts, in batch's array: with the lean
// sender, j and the events already waiting behind it, to be written back
// to back in one write and answered in order (HTTP/1.1 pipelining), which
// saves most of the per-event system calls and wake-ups. A POST is not
// idempotent, so pipelining it is allowed only with a way to recover from
// a partial failure (RFC 9112 §9.3.2): every answer is matched to its
// event, an event whose answer never came is sent again on its own, and a
// server that drops a pipeline switches pipelining off for good.
//
// take does not wait: under steady load the leader has waited out its
// linger window before (see lingerFirst). ts is the leader's part, nil
// without a linger window.
func (c *Client) take(w *wireConn, batch []job, j job, ts *turnState) []job {
	b := append(batch[:0], j)
	if w == nil || !c.pipelining() {
		c.busy(ts)
		c.promote()
		return b
	}
	b = c.collect(b)
	if ts == nil {
		return b
	}
	c.linger.lastTake = time.Now()
	c.busy(ts)
	// What came after the last look but before the leader was marked busy
	// was not promoted for: it goes now, and what is still left goes to a
	// follower.
	b = c.collect(b)
	c.promote()
	return b
}

// lingerFirst is the leader's linger window, waited out before it waits
// on the queue: when its last batch was taken less than a window ago (the
// sign of steady load) and less than a full batch is queued, it waits out
// the window (or until a batch is full; it may end a little early with
// the answers to its last batch, see lingerEnd) and takes what queued
// meanwhile, in one write. Under steady load that turns one write, one
// read and the wake-ups around them per event into one per batch, and the
// first event of a batch does not wake the leader either. An event waits
// about the window at most; one after a quiet spell goes at once, and
// Close cuts the wait short. A wait that brought fewer than two events
// counts as vain (see lingerState), so a caller that sends its next event
// only once the last is delivered soon stops paying for waits.
//
// It returns the batch taken (empty when it did not wait or nothing came)
// and whether the worker is still the leader: answers falling due meanwhile
// are read as the leader's work, and an event queued behind it then may
// hand the turn on.
func (c *Client) lingerFirst(w *wireConn, batch []job, ts *turnState) (b []job, leader bool) {
	select {
	case <-c.batchReady: // left from a backlog the leader has taken since
	default:
	}
	// A full batch already queued (a burst) goes at once; from here on,
	// Enqueue signals one on batchReady.
	if w == nil || len(c.queue) >= maxPipeline || !c.pipelining() {
		c.linger.windowEnd = time.Time{} // what waits goes now
		return nil, true
	}
	now := time.Now()
	if !c.linger.due(now, c.cfg.Linger) {
		c.linger.windowEnd = time.Time{}
		return nil, true
	}
	end := lingerEnd(now, c.cfg.Linger, w.due.at, w.due.n > 0)
	// A window the last leader handed over mid-way (waitDue below) is
	// finished, not opened anew: its events have waited since it began.
	if open := c.linger.windowEnd; open.After(now) && open.Before(end) {
		end = open
	}
	c.linger.windowEnd = end
	for {
		switch ts.wait(time.Until(end), c.batchReady, c.stopping, dueC(w)) {
		case waitStopped:
			c.linger.windowEnd = time.Time{}
			return nil, true
		case waitDue:
			c.busy(ts)
			c.promote()
			c.readDue(w)
			if !c.leaderBusy.CompareAndSwap(ts.id, 0) {
				return nil, false // the window stays open for the next leader
			}
			continue
		}
		break
	}
	c.linger.windowEnd = time.Time{}
	b = c.collect(batch[:0])
	c.linger.waited(len(b) > 1)
	if len(b) == 0 {
		return nil, true
	}
	c.linger.lastTake = time.Now()
	c.busy(ts)
	b = c.collect(b)
	c.promote()
	return b, true
}

// lingerEnd is when a linger window starting at now ends: after the
// window, or at dueAt when the answers to the leader's last batch fall due
// (due) in the window's last quarter. Their timer started with that
// batch's write, just before the window, and a window of the same length
// (a window up to maxAnswerDelay: see Client.answerDelay) ends a few
// microseconds after it:
// waking for the answers and again for the window's end would cost the
// leader a wake-up and a park each batch, where ending the window with
// them costs one, and shortens it by as little. The answers are read then
// (waitDue) or, with the batch taken, before its write (deliverBatch).
// Answers due earlier (a window longer than maxAnswerDelay) still wake the
// leader when due, and the window goes on.
func lingerEnd(now time.Time, window time.Duration, dueAt time.Time, due bool) time.Time {
	end := now.Add(window)
	if due && dueAt.Before(end) && end.Sub(dueAt) <= window/4 {
		return dueAt
	}
	return end
}

// busy marks the leader (the caller, when ts is set) as sending, from now
// until it is done: an event queued meanwhile promotes a follower.
func (c *Client) busy(ts *turnState) {
	if ts != nil {
		c.leaderBusy.Store(ts.id)
	}
}

// pipelining reports whether events may share a write: not through
// net/http, not to a server that dropped a pipeline, and not once Close
// was called: when Close's deadline cuts the drain short, the events in
// flight are counted as dropped though SmartID may still take them, and
// one per worker keeps that doubt as small as it was without pipelining.
func (c *Client) pipelining() bool {
	return !c.http2Only.Load() && !c.noPipeline.Load() && !c.isStopping()
}

// collect adds queued events to b, without waiting, up to a pipeline's
// bounds.
func (c *Client) collect(b []job) []job {
	size := 0
	for _, j := range b {
		size += len(*j.body)
	}
	for len(b) < maxPipeline && size < maxPipelineBytes {
		select {
		case next := <-c.queue:
			b = append(b, next)
			size += len(*next.body)
		default:
			return b
		}
	}
	return b
}

// deliverBatch delivers a batch from take: in one write when it holds
// several events and pipelining is still allowed, else one by one.
func (c *Client) deliverBatch(w *wireConn, b []job) {
	c.readDue(w) // before anything else is written on w
	if len(b) > 1 && c.pipelining() {
		c.deliverPipelined(w, b)
	} else {
		for i, j := range b {
			if i > 0 && c.runCtx.Err() != nil {
				c.drop(j, ReasonShutdown)
				continue
			}
			c.deliver(w, j, 1)
		}
	}
	clear(b) // the jobs' bodies went back to the pool
}

// lingerState decides whether the leader lingers. Only the leader uses it
// (the hand-over of the turn orders its uses).
//
// Events closer together than the window are the sign of load, but not
// a sure one: a caller that sends its next event only once the last is
// delivered also sends them close together, and would wait out every
// window for nothing. So a wait that brought nothing makes the next
// 1, 3, 7 ... up to 255 takes go without waiting, and a wait that brought
// an event starts over.
type lingerState struct {
	lastTake time.Time // when the previous batch was taken
	vain     int       // waits in a row that brought nothing, capped
	skip     int       // takes left to go without waiting
	// windowEnd is when the window being waited out ends, zero when none
	// is: a leader that hands the turn on mid-window leaves it for the
	// next leader to finish (see lingerFirst).
	windowEnd time.Time
}

const maxVainLingers = 8

func (s *lingerState) due(now time.Time, window time.Duration) bool {
	if now.Sub(s.lastTake) > window {
		return false
	}
	if s.skip > 0 {
		s.skip--
		return false
	}
	return true
}

// waited records whether a wait brought more events.
func (s *lingerState) waited(fruitful bool) {
	if fruitful {
		s.vain = 0
		return
	}
	s.vain = min(s.vain+1, maxVainLingers)
	s.skip = 1<<s.vain - 1
}

// turnState is a worker's part in taking turns at the queue: its id (from
// 1), which it marks itself busy with as the leader, and its one timer for
// linger waits, made on the first and reset for each after.
type turnState struct {
	id uint64
	t  *time.Timer
}

// waitResult is how a linger wait ended.
type waitResult int

const (
	waitDone    waitResult = iota // the window passed, or a batch is ready
	waitStopped                   // Close was called
	waitDue                       // answers are due (see dueAnswers)
)

// wait waits d, or less if a batch is ready, Close is called or answers
// are due (due may be nil).
func (l *turnState) wait(d time.Duration, ready, stop <-chan struct{}, due <-chan time.Time) waitResult {
	if d <= 0 {
		return waitDone
	}
	if l.t == nil {
		l.t = time.NewTimer(d)
	} else {
		l.t.Reset(d)
	}
	select {
	case <-l.t.C:
		return waitDone
	case <-ready:
		l.t.Stop()
		return waitDone
	case <-stop:
		l.t.Stop()
		return waitStopped
	case <-due:
		l.t.Stop()
		return waitDue
	}
}

func (l *turnState) stop() {
	if l.t != nil {
		l.t.Stop()
	}
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
// answer; those that need another attempt continue on their own. With a
// linger window the answers are read later (see dueAnswers), unless Close
// was called.
func (c *Client) deliverPipelined(w *wireConn, b []job) {
	ex := w.exchanges[:0]
	for _, j := range b {
		ex = append(ex, exchange{head: c.wire.head(j.channel, j.kind), body: *j.body})
	}
	err := w.write(ex, time.Now())
	if err == nil && c.turn != nil && !c.isStopping() {
		w.exchanges = ex
		w.due.hold(b, c.answerDelay)
		w.muteAnswers()
		return
	}
	answered, broken := 0, false
	if err == nil {
		answered, broken, err = w.read(ex)
	}
	c.settleBatch(w, b, ex, answered, broken, err, time.Since(w.sentAt))
}

// settleBatch settles the jobs of one write by what read (or write)
// returned, in ex, and gives ex back to w.
func (c *Client) settleBatch(w *wireConn, b []job, ex []exchange, answered int, broken bool, err error, dur time.Duration) {
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
// caller's client goes through Do (its jar and timeout apply), with its
// redirect policy replaced by noredirect's in New.
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
