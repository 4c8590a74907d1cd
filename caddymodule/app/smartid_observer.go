package app

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/repeatlog"
)

// smartidLogEvery is how often a repeating SmartID failure is logged
// below debug level: during an outage every login's event fails alike,
// and a line for each would double the log just when it is read.
const smartidLogEvery = 10 * time.Second

// smartidObserver turns the SmartID client's delivery reports into log
// lines and metrics. Reports carry event kinds and statuses, never
// payloads or the license.
type smartidObserver struct {
	// logger is the newest config's: an old config's log writers may be
	// closed by the time the shared queue reports.
	logger atomic.Pointer[zap.Logger]
	m      *Metrics
	queue  string
	client *smartid.Client
	// lines holds back repeated retry, failure and drop lines (not at
	// debug level); now is its clock, time.Now but in tests.
	lines *repeatlog.Log
	now   func() time.Time
}

func (o *smartidObserver) Observe(r smartid.Report) {
	logger := o.logger.Load()
	if o.m != nil {
		o.m.SmartIDEvent(string(r.Event), string(r.Outcome))
		if o.client != nil {
			o.m.SmartIDQueueDepth(o.queue, o.client.Stats().QueueDepth)
		}
	}
	// A delivered event is logged at debug level, which is usually off:
	// then nothing is built for it. At debug level every event has its
	// line; below it, a failure that repeats is logged once per
	// smartidLogEvery, with the count of the lines it stands for.
	debug := logger.Core().Enabled(zap.DebugLevel)
	if r.Outcome == smartid.OutcomeSent && !debug {
		if o.lines.Holding() {
			o.lines.Flush(logger, o.now(), false)
		}
		return
	}
	fields := []zap.Field{
		zap.String("event", string(r.Event)),
		zap.String("channel", string(r.Channel)),
		zap.Int("attempt", r.Attempt),
		zap.Int("status", r.Status),
		zap.Duration("duration", r.Duration),
	}
	if r.Err != nil {
		fields = append(fields, zap.Error(r.Err))
	}
	level, msg, kind := zap.WarnLevel, "smartid event failed", "failed"
	switch r.Outcome {
	case smartid.OutcomeSent:
		logger.Debug("smartid event sent", fields...)
		return
	case smartid.OutcomeRetry:
		level, msg, kind = zap.InfoLevel, "smartid event retried", "retried"
	case smartid.OutcomeDropped:
		msg, kind = "smartid event dropped", "dropped "+r.Reason
		fields = append(fields, zap.String("reason", r.Reason))
	}
	o.lines.Write(logger, o.now(), kind, level, msg, fields...)
}

// flush writes what lines holds back; the queue calls it once drained,
// so the drops of a shutdown are logged before the process exits.
func (o *smartidObserver) flush() {
	o.lines.Flush(o.logger.Load(), o.now(), true)
}
