package httpengine

import (
	"encoding/json"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// SchemaVersion is the version of Request this package sends.
const SchemaVersion = 1

// timeLayout is RFC 3339 with milliseconds; times are sent in UTC.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Request is the JSON document POSTed for each attempt (schema version 1;
// see the package doc). The field order is the wire order.
type Request struct {
	Version       int    `json:"version"`
	Route         string `json:"route"`
	Event         string `json:"event"`
	User          string `json:"user"`
	IP            string `json:"ip"`
	UserAgent     string `json:"user_agent"`
	DevicePresent bool   `json:"device_present"`
	Device        string `json:"device"`
	Session       string `json:"session"`
	Assertion     string `json:"assertion"`
	Time          string `json:"time"`
	Outcome       string `json:"outcome"`
}

// NewRequest builds the schema-1 document for a. now is used when the
// attempt has no time.
func NewRequest(a *rules.Attempt, now func() time.Time) Request {
	t := a.Time
	if t.IsZero() {
		t = now()
	}
	ip := ""
	if a.IP.IsValid() {
		ip = a.IP.Unmap().WithZone("").String()
	}
	return Request{
		Version:       SchemaVersion,
		Route:         a.Route,
		Event:         a.Event,
		User:          a.User,
		IP:            ip,
		UserAgent:     a.UserAgent,
		DevicePresent: a.DevicePresent,
		Device:        a.Device,
		Session:       a.Session,
		Assertion:     a.Assertion,
		Time:          t.UTC().Format(timeLayout),
		Outcome:       a.Outcome.String(),
	}
}

// Response is the service's answer (see the package doc).
type Response struct {
	Action        string   `json:"action"`
	Score         *float64 `json:"score,omitempty"`
	Reasons       []string `json:"reasons,omitempty"`
	CorrelationID string   `json:"correlation_id,omitempty"`
}

func encode(r Request) ([]byte, error) { return json.Marshal(r) }
