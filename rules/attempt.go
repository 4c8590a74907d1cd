package rules

import (
	"net/http"
	"net/netip"
	"time"
)

// Attempt is everything the guard knows about one guarded request. It never
// holds the password: the body reader drops that field before an Attempt is
// built.
type Attempt struct {
	// Route is the handler's name: the state key, metric label and admin id.
	Route string
	// Event is the kind of request: login, logout, operation, none, step_up.
	Event string
	// User is the user name exactly as submitted (trimmed of nothing).
	User string
	// IP is the client address as Caddy resolved it (trusted_proxies
	// honoured), never a raw X-Forwarded-For.
	IP netip.Addr
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// Device is the SmartID SDK payload; DevicePresent tells an empty
	// field from an absent one.
	Device        string
	DevicePresent bool
	// Session is the session id known for this request (guard cookie or an
	// HMAC of the app's cookie); empty before a login completes.
	Session string
	// Header is the request's header, for rules and expressions. Read only.
	Header http.Header
	// Time is when the guard saw the request.
	Time time.Time
	// AccountID is the portal's account id for the user when the route
	// knows it (Forter's accountId); empty otherwise.
	AccountID string
	// Assertion is the state of a FIDO/JWT assertion on the request:
	// "" (none), "valid" or "invalid".
	Assertion string
	// Outcome is the upstream's answer for rules evaluated after it:
	// OutcomeUnknown before the upstream answered.
	Outcome Outcome
}

// Outcome is whether the upstream accepted a login.
type Outcome uint8

const (
	OutcomeUnknown Outcome = iota
	OutcomeSuccess
	OutcomeFailure
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	}
	return "unknown"
}
