package login

import "sync"

// A guarded request's state (about 1 KiB) is recycled rather than left to
// the collector: on a deny, half of what a request allocated was its
// exchange, and the collector's work grows with the bytes allocated.
//
// An exchange goes back to the pool only when ServeHTTP returns normally
// and nothing that outlives the request refers to it. What the request
// hands on is a copy or is done before ServeHTTP returns: engines get a
// copy of the attempt (askEngines), the audit line is encoded while it is
// written, the SmartID event, the step-up state and a held answer copy
// what they keep, store calls return before the request does. The one
// reference that stays is a placeholder function given to the request's
// replacer, which Caddy may call after this handler returned (an access
// log naming {login_guard.field.*}): such an exchange is retained.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// newExchange is a cleared exchange for one request on h's route.
func newExchange(h *Handler) *exchange {
	x := exchanges.Get().(*exchange)
	x.h = h
	return x
}

// retain keeps the exchange out of the pool: something that outlives the
// request refers to it.
func (x *exchange) retain() { x.retained = true }

// release clears the exchange and recycles it, unless it is retained.
// Clearing here, not when it is taken again, drops at once what the
// request pinned (its context, the body the fields point into).
func (x *exchange) release() {
	if x.retained {
		return
	}
	*x = exchange{}
	exchanges.Put(x)
}
