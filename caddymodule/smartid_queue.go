package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/clients/smartid"
	"github.com/login-guard/login_guard/internal/formbody"
)

// smartidPool keeps one SmartID client per distinct config across reloads:
// a reload that keeps the smartid block reuses the running queue, and the
// queue drains only when the last config using it is stopped.
var smartidPool = caddy.NewUsagePool()

// smartidQueue is the pooled value. It holds its own reference to the
// process's collectors: it may outlive the config that made it.
type smartidQueue struct {
	client  *smartid.Client
	obs     *smartidObserver
	drain   time.Duration
	label   string // the queue's metric label
	metrics *metrics
}

// Destruct drains the queue within the configured deadline.
func (q *smartidQueue) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), q.drain)
	defer cancel()
	err := q.client.Close(ctx)
	q.metrics.forgetQueue(q.label)
	releaseMetrics()
	return err
}

func acquireSmartID(key string, cfg *SmartIDConfig, logger *zap.Logger) (*smartidQueue, error) {
	v, _, err := smartidPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		m, err := acquireMetrics(nil)
		if err != nil {
			return nil, err
		}
		obs := &smartidObserver{m: m, queue: queueLabel(key)}
		obs.logger.Store(logger.Named("smartid"))
		c, err := smartid.New(smartid.Config{
			Endpoint:    cfg.endpoint,
			License:     cfg.license,
			Environment: smartid.Environment(cfg.environment),
			ChannelID:   cfg.channelID,
			Timeout:     time.Duration(cfg.Timeout),
			QueueSize:   cfg.QueueSize,
			Workers:     cfg.Workers,
			MaxAttempts: cfg.retries + 1,
			Observer:    obs,
		})
		if err != nil {
			releaseMetrics()
			return nil, err
		}
		// Set before any event can be queued, so workers see it.
		obs.client = c
		return &smartidQueue{client: c, obs: obs, drain: cfg.drain, label: obs.queue, metrics: m}, nil
	})
	if err != nil {
		return nil, err
	}
	q := v.(*smartidQueue)
	q.obs.logger.Store(logger.Named("smartid"))
	return q, nil
}

func releaseSmartID(key string) error {
	_, err := smartidPool.Delete(key)
	return err
}

// enqueue hands an event to the queue without waiting; the result word goes
// to the audit line.
func (x *exchange) enqueue(ev smartid.Event) {
	q := x.h.app.smartid
	if q == nil {
		x.smartid = "not_configured"
		return
	}
	err := q.client.Enqueue(ev)
	q.metrics.smartidQueueDepth(q.label, q.client.Stats().QueueDepth)
	switch {
	case err == nil:
		x.smartid = "queued"
	case errors.Is(err, smartid.ErrQueueFull):
		x.smartid = "dropped_queue_full" // counted and logged by the observer
	case errors.Is(err, smartid.ErrClosed):
		// The queue was drained and closed before this request finished
		// (it outlived the bounded wait of its config's shutdown).
		x.smartid = "dropped_stopped"
		x.h.app.metrics.smartidDropped(string(ev.Kind()))
		x.h.logger.Warn("smartid event dropped", zap.String("route", x.h.Name),
			zap.String("event", string(ev.Kind())), zap.String("reason", "stopped"))
	default:
		x.smartid = "invalid"
		x.h.logger.Warn("smartid event not sent", zap.String("route", x.h.Name), zap.Error(err))
	}
}

func (x *exchange) channel() (smartid.ChannelKind, int) {
	return smartid.ChannelKind(x.h.ChannelKind), x.h.channelID
}

// reportLogin sends the login once the upstream answered; session is empty
// for a failed login.
func (x *exchange) reportLogin(session string) {
	if x.h.app.smartid == nil {
		// Said before the event is built: building it costs an
		// allocation for nothing.
		x.smartid = "not_configured"
		return
	}
	kind, id := x.channel()
	x.enqueue(smartid.Login{
		ChannelKind: kind, ChannelID: id,
		User:     x.attempt.User,
		Session:  session,
		PublicIP: x.attempt.IP,
		Data:     x.attempt.Device,
	})
}

// reportLogout closes the session of the login the guard cookie names.
func (x *exchange) reportLogout() {
	if !x.hasSess {
		x.smartid = "skipped_no_session"
		return
	}
	if x.h.app.smartid == nil {
		x.smartid = "not_configured"
		return
	}
	kind, id := x.channel()
	x.enqueue(smartid.Logout{
		ChannelKind: kind, ChannelID: id,
		User:     x.session.User,
		Session:  x.session.Session,
		PublicIP: x.attempt.IP,
		Data:     x.attempt.Device,
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
		"operation event cannot be built: a mapped value is not of its type (numbers must be plain decimals)")
}

func (x *exchange) buildOperation(r *http.Request) (*smartid.Operation, error) {
	vals, err := x.h.opMapping.resolve(r, x)
	if err != nil {
		return nil, err
	}
	op := &smartid.Operation{Transaction: smartid.Transaction{Details: map[string]string{}}}
	for path, v := range vals {
		if err := setOperationField(op, path, v); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// reportOperation queues the operation event prepareOperation built. With
// `on_invalid_operation pass`, an event that could not be built is logged
// and skipped: sending a wrong amount is worse than sending none.
func (x *exchange) reportOperation(r *http.Request) {
	if x.h.app.smartid == nil {
		x.smartid = "not_configured"
		return
	}
	op := x.operation
	if op == nil {
		err := x.operationErr
		if err == nil {
			op, err = x.buildOperation(r)
		}
		if err != nil {
			x.smartid = "invalid"
			x.h.logger.Warn("smartid operation not sent", zap.String("route", x.h.Name), zap.Error(err))
			return
		}
	}
	op.ChannelKind, op.ChannelID = x.channel()
	x.enqueue(op)
}

// setOperationField stores one resolved mapping value; the value's type was
// checked by resolve.
func setOperationField(op *smartid.Operation, path, v string) error {
	if key, ok := strings.CutPrefix(path, detailsPrefix); ok {
		op.Transaction.Details[key] = v
		return nil
	}
	var err error
	switch path {
	case "timestamp":
		op.Timestamp, err = time.Parse(time.RFC3339, v)
		if err != nil {
			return errors.New("operation field timestamp is not ISO 8601 (RFC 3339)")
		}
	case "order.amount":
		op.Order.Amount, err = strconv.ParseFloat(v, 64)
	case "account.clientRefId":
		op.Account.ClientRefID, err = strconv.Atoi(v)
	default:
		if dst := operationStringField(op, path); dst != nil {
			*dst = v
		} else {
			err = fmt.Errorf("unknown operation field %q", path)
		}
	}
	if ne := (*strconv.NumError)(nil); errors.As(err, &ne) {
		// strconv quotes the value: keep request data out of the log.
		return fmt.Errorf("operation field %s is not a number", path)
	}
	return err
}

func operationStringField(op *smartid.Operation, path string) *string {
	switch path {
	case "transaction.category":
		return &op.Transaction.Category
	case "transaction.type":
		return &op.Transaction.Type
	case "transaction.description":
		return &op.Transaction.Description
	case "transaction.reference":
		return &op.Transaction.Reference
	case "transaction.date":
		return &op.Transaction.Date
	case "account.client":
		return &op.Account.Client
	case "account.clientRefIdStr":
		return &op.Account.ClientRefIDStr
	case "account.email":
		return &op.Account.Email
	case "account.phoneNumber":
		return &op.Account.PhoneNumber
	case "account.session":
		return &op.Account.Session
	case "account.accountNumber":
		return &op.Account.AccountNumber
	case "account.bank":
		return &op.Account.Bank
	case "order.currency":
		return &op.Order.Currency
	case "accountTo.client":
		return &op.AccountTo.Client
	case "accountTo.accountNumber":
		return &op.AccountTo.AccountNumber
	case "accountTo.bank":
		return &op.AccountTo.Bank
	case "debitFrom.account":
		return &op.DebitFrom.Account
	case "debitFrom.bank":
		return &op.DebitFrom.Bank
	case "debitFrom.currency":
		return &op.DebitFrom.Currency
	case "creditTo.account":
		return &op.CreditTo.Account
	case "creditTo.bank":
		return &op.CreditTo.Bank
	case "creditTo.currency":
		return &op.CreditTo.Currency
	case "creditCard.bin":
		return &op.CreditCard.BIN
	case "creditCard.hash":
		return &op.CreditCard.Hash
	case "creditCard.last4Digits":
		return &op.CreditCard.Last4Digits
	case "creditCard.token":
		return &op.CreditCard.Token
	}
	return nil
}

// queueLabel is a short, config-derived id for the queue's metrics: one
// value per distinct smartid block, never a license.
func queueLabel(poolKey string) string {
	if len(poolKey) > 8 {
		return poolKey[len(poolKey)-8:]
	}
	return poolKey
}
