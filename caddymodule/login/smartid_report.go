package login

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/formbody"
)

// enqueue hands an event to the queue without waiting; the result word goes
// to the audit line.
func (x *exchange) enqueue(ev smartid.Event) {
	q := x.h.app.SmartIDQueue()
	if q == nil {
		x.SmartID = "not_configured"
		return
	}
	err := q.Client.Enqueue(ev)
	q.Metrics.SmartIDQueueDepth(q.Label, q.Client.Stats().QueueDepth)
	switch {
	case err == nil:
		x.SmartID = "queued"
	case errors.Is(err, smartid.ErrQueueFull):
		x.SmartID = "dropped_queue_full" // counted and logged by the observer
	case errors.Is(err, smartid.ErrClosed):
		// The queue was drained and closed before this request finished
		// (it outlived the bounded wait of its config's shutdown).
		x.SmartID = "dropped_stopped"
		x.h.app.Metrics().SmartIDDropped(string(ev.Kind()))
		x.h.logger.Warn("smartid event dropped", zap.String("route", x.h.Name),
			zap.String("event", string(ev.Kind())), zap.String("reason", "stopped"))
	default:
		x.SmartID = "invalid"
		x.h.logger.Warn("smartid event not sent", zap.String("route", x.h.Name), zap.Error(err))
	}
}

func (x *exchange) channel() (smartid.ChannelKind, int) {
	return smartid.ChannelKind(x.h.ChannelKind), x.h.channelID
}

// reportLogin sends the login once the upstream answered; session is empty
// for a failed login.
func (x *exchange) reportLogin(session string) {
	if x.h.app.SmartIDQueue() == nil {
		// Said before the event is built: building it costs an
		// allocation for nothing.
		x.SmartID = "not_configured"
		return
	}
	kind, id := x.channel()
	x.enqueue(smartid.Login{
		ChannelKind: kind, ChannelID: id,
		User:     x.Attempt.User,
		Session:  session,
		PublicIP: x.Attempt.IP,
		Data:     x.Attempt.Device,
	})
}

// reportLogout closes the session of the login the guard cookie names.
func (x *exchange) reportLogout() {
	if !x.HasSession {
		x.SmartID = "skipped_no_session"
		return
	}
	if x.h.app.SmartIDQueue() == nil {
		x.SmartID = "not_configured"
		return
	}
	kind, id := x.channel()
	x.enqueue(smartid.Logout{
		ChannelKind: kind, ChannelID: id,
		User:     x.Session.User,
		Session:  x.Session.Session,
		PublicIP: x.Attempt.IP,
		Data:     x.Attempt.Device,
	})
}

// prepareOperation builds the route's SmartID operation event before
// anything is decided. An event that cannot be built (a mapped amount that
// is not a plain decimal number, say) refuses the request with 400
// invalid_operation: passing it would hide the operation from the fraud
// analytics. `on_invalid_operation pass` keeps the old behaviour (pass,
// event skipped).
func (x *exchange) prepareOperation(r *http.Request) error {
	op, err := x.buildOperation(r)
	if err == nil {
		x.operation = op
		return nil
	}
	if x.h.OnInvalidOperation == OnInvalidOperationPass {
		x.operationErr = err
		return nil
	}
	x.h.logger.Info("operation refused: its SmartID event cannot be built", zap.String("route", x.h.Name), zap.Error(err))
	return formbody.Refusal(http.StatusBadRequest, formbody.ReasonInvalidOperation,
		"operation event cannot be built: a mapped value is not of its type (numbers must be plain decimals, an amount a sum of money from 0)")
}

func (x *exchange) buildOperation(r *http.Request) (*smartid.Operation, error) {
	vals, err := x.h.opMapping.resolve(r, x)
	if err != nil {
		return nil, err
	}
	op, err := smartid.OperationOf(vals)
	if err == nil {
		// Kept for a step-up to hold with the request (see replay).
		x.operationValues = vals
	}
	return op, err
}

// errOperationNotHeld: a replayed operation whose event the first pass
// could not build (or held by a release that kept none).
var errOperationNotHeld = errors.New("operation event not built from the request that was judged")

// heldOperation sets the event a replayed operation reports: the values
// the first pass resolved from the request it judged, filed under the
// session the replay carries (as resolve files every operation). Never
// values resolved again: the mapping's placeholders would read the
// continuation request, which the client writes anew.
func (x *exchange) heldOperation(vals map[string]string) {
	x.operationErr = errOperationNotHeld
	if vals == nil {
		return
	}
	if x.HasSession {
		vals["account.client"], vals["account.session"] = x.Session.User, x.Session.Session
	}
	x.operation, x.operationErr = smartid.OperationOf(vals)
}

// reportOperation queues the operation event prepareOperation built. With
// `on_invalid_operation pass`, an event that could not be built is logged
// and skipped: sending a wrong amount is worse than sending none.
func (x *exchange) reportOperation(r *http.Request) {
	if x.h.app.SmartIDQueue() == nil {
		x.SmartID = "not_configured"
		return
	}
	op := x.operation
	if op == nil {
		err := x.operationErr
		if err == nil {
			op, err = x.buildOperation(r)
		}
		if err != nil {
			x.SmartID = "invalid"
			x.h.logger.Warn("smartid operation not sent", zap.String("route", x.h.Name), zap.Error(err))
			return
		}
	}
	op.ChannelKind, op.ChannelID = x.channel()
	x.enqueue(op)
}
