package smartid

import "time"

// Deferred reading of a pipelined batch's answers. After a write of
// several events the worker does not wait for their answers: Go's HTTP
// server, like many, flushes each pipelined answer on its own, and a
// worker waiting on the socket is woken once per answer, which under a
// steady trickle costs more than the rest of the delivery. The answers
// wait in the socket instead, and the worker reads them all in one pass
// before its next write on that connection, when a short timer fires (one
// per worker, reset for each batch), or when Close is called — so an idle
// worker is woken once per batch. Even with no goroutine waiting on the
// socket, each answer arriving would wake the runtime's poller; on Linux
// the socket's low-water mark is raised until they are read, so their
// arrival wakes nothing (see wireConn.muteAnswers). An event counts as
// delivered only once its answer is read: until then it is neither sent
// nor failed, and an answer that never comes has it sent again as before.

// maxAnswerDelay bounds how long answers wait to be read: the linger
// window, but no longer than this. A delay as long as the window lets a
// worker under steady load read a batch's answers just before it writes
// the next, with no wake-up of its own.
const maxAnswerDelay = 5 * time.Millisecond

// dueAnswers is the batch written on a worker's connection whose answers
// are still to be read: its jobs, in the order written (the exchanges are
// the connection's, w.exchanges).
type dueAnswers struct {
	jobs  [maxPipeline]job
	n     int
	at    time.Time   // when the timer fires (see lingerEnd)
	timer *time.Timer // made for the first batch, reset for each after
}

// hold keeps b's jobs until their answers are read, at the latest when
// the timer fires after d.
func (d *dueAnswers) hold(b []job, after time.Duration) {
	d.n = copy(d.jobs[:], b)
	d.at = time.Now().Add(after)
	if d.timer == nil {
		d.timer = time.NewTimer(after)
	} else {
		d.timer.Reset(after)
	}
}

// due is the timer's channel while answers are due, else nil (a select
// on it then never fires).
func (d *dueAnswers) due() <-chan time.Time {
	if d.n == 0 {
		return nil
	}
	return d.timer.C
}

func (d *dueAnswers) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
}

// dueC is w's due channel, nil without a lean connection.
func dueC(w *wireConn) <-chan time.Time {
	if w == nil {
		return nil
	}
	return w.due.due()
}

// readDue reads the answers to w's held batch, if any, and settles its
// events as deliverPipelined would have at once.
func (c *Client) readDue(w *wireConn) {
	if w == nil || w.due.n == 0 {
		return
	}
	w.due.timer.Stop()
	b := w.due.jobs[:w.due.n]
	w.due.n = 0
	ex := w.exchanges[:len(b)]
	answered, broken, err := w.readLate(ex)
	c.settleBatch(w, b, ex, answered, broken, err, time.Since(w.sentAt))
	clear(b) // the jobs' bodies went back to the pool
}
