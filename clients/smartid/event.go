package smartid

import (
	"net/netip"
)

// ChannelKind is the SmartID channel type in the API path: a browser
// portal or a mobile app.
type ChannelKind string

const (
	ChannelWeb ChannelKind = "web"
	ChannelApp ChannelKind = "app"
)

func (k ChannelKind) valid() bool { return k == ChannelWeb || k == ChannelApp }

// EventKind is the last segment of the API path and the label reports and
// metrics carry.
type EventKind string

const (
	KindLogin     EventKind = "login"
	KindLogout    EventKind = "logout"
	KindOperation EventKind = "operation"
)

// Event is one analytics event: a Login or Logout (value or pointer) or an
// *Operation. The set is closed; the unexported methods keep it so.
type Event interface {
	// Kind tells which endpoint the event goes to.
	Kind() EventKind
	// channel returns the event's own channel kind and id (zero: use the
	// client's defaults).
	channel() (ChannelKind, int)
	// appendJSON validates the event and appends its body, with channelID
	// already resolved.
	appendJSON(b []byte, channelID int) ([]byte, error)
	// minSize is a lower bound of the body's length (the sum of its
	// strings), checked against MaxEventBytes before encoding.
	minSize() int
}

// Login reports a login the guard saw (POST .../login).
type Login struct {
	// ChannelKind and ChannelID override the client's defaults when set,
	// so one client can serve routes with different channels.
	ChannelKind ChannelKind
	ChannelID   int
	// User is the user identifier as submitted. Required.
	User string
	// Session is the application's session id; omitted when empty.
	Session string
	// PublicIP is the client's address. Required.
	PublicIP netip.Addr
	// Data is the SDK's encrypted device payload, sent as "" when the SDK
	// gave nothing.
	Data string
}

func (Login) Kind() EventKind               { return KindLogin }
func (e Login) channel() (ChannelKind, int) { return e.ChannelKind, e.ChannelID }
func (e Login) minSize() int                { return len(e.User) + len(e.Session) + len(e.Data) }
func (e Login) appendJSON(b []byte, channelID int) ([]byte, error) {
	if e.User == "" {
		return nil, required(KindLogin, "user")
	}
	if !e.PublicIP.IsValid() {
		return nil, required(KindLogin, "publicIp")
	}
	b = growFor(b, e.User, e.Session, e.Data)
	b = append(b, '{')
	b = appendIntField(b, "channelId", channelID)
	b = appendStringField(b, "user", e.User)
	if e.Session != "" {
		b = appendStringField(b, "session", e.Session)
	}
	b = appendIPField(b, "publicIp", e.PublicIP)
	b = appendStringField(b, "data", e.Data)
	return append(b, '}'), nil
}

// Logout reports a logout (POST .../logout).
type Logout struct {
	ChannelKind ChannelKind // overrides the client's default when set
	ChannelID   int         // overrides the client's default when set
	User        string      // required
	Session     string      // required: the session being closed
	PublicIP    netip.Addr  // omitted when invalid (zero)
	Data        string      // omitted when empty
}

func (Logout) Kind() EventKind               { return KindLogout }
func (e Logout) channel() (ChannelKind, int) { return e.ChannelKind, e.ChannelID }
func (e Logout) minSize() int                { return len(e.User) + len(e.Session) + len(e.Data) }
func (e Logout) appendJSON(b []byte, channelID int) ([]byte, error) {
	if e.User == "" {
		return nil, required(KindLogout, "user")
	}
	if e.Session == "" {
		return nil, required(KindLogout, "session")
	}
	b = growFor(b, e.User, e.Session, e.Data)
	b = append(b, '{')
	b = appendIntField(b, "channelId", channelID)
	b = appendStringField(b, "user", e.User)
	b = appendStringField(b, "session", e.Session)
	if e.PublicIP.IsValid() {
		b = appendIPField(b, "publicIp", e.PublicIP)
	}
	if e.Data != "" {
		b = appendStringField(b, "data", e.Data)
	}
	return append(b, '}'), nil
}

// appendIPField writes the address as SmartID expects a public IP: plain
// IPv4 for IPv4-mapped IPv6, no zone.
func appendIPField(b []byte, name string, ip netip.Addr) []byte {
	b = appendKey(b, name)
	b = append(b, '"')
	b = ip.Unmap().WithZone("").AppendTo(b)
	return append(b, '"')
}

// loginOverhead covers the keys, punctuation, channel id and IP of a login
// or logout body.
const loginOverhead = 128

// growFor sizes b once for a login or logout body with these strings.
func growFor(b []byte, fields ...string) []byte {
	n := loginOverhead
	for _, f := range fields {
		n += jsonStringLen(f)
	}
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b
}
