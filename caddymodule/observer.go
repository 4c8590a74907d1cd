package caddymodule

import (
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
)

// smartidObserver turns the SmartID client's delivery reports into log
// lines and metrics. Reports carry event kinds and statuses, never
// payloads or the license.
type smartidObserver struct {
	// logger is the newest config's: an old config's log writers may be
	// closed by the time the shared queue reports.
	logger atomic.Pointer[zap.Logger]
	m      *metrics
	queue  string
	client *smartid.Client
}

func (o *smartidObserver) Observe(r smartid.Report) {
	logger := o.logger.Load()
	if o.m != nil {
		o.m.smartidEvent(string(r.Event), string(r.Outcome))
		if o.client != nil {
			o.m.smartidQueueDepth(o.queue, o.client.Stats().QueueDepth)
		}
	}
	// A delivered event is logged at debug level, which is usually off:
	// then nothing is built for it.
	if r.Outcome == smartid.OutcomeSent && !logger.Core().Enabled(zap.DebugLevel) {
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
	switch r.Outcome {
	case smartid.OutcomeSent:
		logger.Debug("smartid event sent", fields...)
	case smartid.OutcomeRetry:
		logger.Info("smartid event retried", fields...)
	case smartid.OutcomeDropped:
		logger.Warn("smartid event dropped", append(fields, zap.String("reason", r.Reason))...)
	default:
		logger.Warn("smartid event failed", fields...)
	}
}
