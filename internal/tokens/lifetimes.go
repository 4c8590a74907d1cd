package tokens

import (
	"errors"
	"fmt"
	"time"
)

// Lifetimes are a session's lifetime and its keys' rotation period and
// grace, as the app's session options give them: a zero takes the
// default.
type Lifetimes struct {
	TTL, Rotation, Grace time.Duration
}

// Defaults of Lifetimes.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultKeyRotation = 7 * 24 * time.Hour
)

// WithDefaults fills the zero values: ttl 12h, rotation 7 days, grace the
// ttl plus an hour.
func (l Lifetimes) WithDefaults() Lifetimes {
	if l.TTL == 0 {
		l.TTL = DefaultSessionTTL
	}
	if l.Rotation == 0 {
		l.Rotation = DefaultKeyRotation
	}
	if l.Grace == 0 {
		l.Grace = l.TTL + time.Hour
	}
	return l
}

// Bounds of the session lifetimes, whatever their unit: below a second a
// cookie's Max-Age is 0 (the browser drops it at once) and a key would
// rotate at every check; the longest is the rules' longest window, 3650
// days. A grace may exceed it by the hour its default adds to the ttl.
const (
	MinLifetime = time.Second
	MaxLifetime = 3650 * 24 * time.Hour
	MaxGrace    = MaxLifetime + time.Hour
)

// Check refuses a value out of bounds (a negative rotation would switch
// rotation off, a ttl of a nanosecond would end every session at once)
// and a grace shorter than the ttl, which would end sessions before their
// time. Call it on defaulted lifetimes.
func (l Lifetimes) Check() error {
	for _, v := range []struct {
		name    string
		d, most time.Duration
	}{{"ttl", l.TTL, MaxLifetime}, {"key_rotation", l.Rotation, MaxLifetime}, {"key_grace", l.Grace, MaxGrace}} {
		if v.d < 0 {
			return fmt.Errorf("%s must be positive, not %v", v.name, v.d)
		}
		if v.d < MinLifetime || v.d > v.most {
			return fmt.Errorf("%s must be from %v to %v, not %v", v.name, MinLifetime, v.most, v.d)
		}
	}
	if l.Grace < l.TTL {
		return errors.New("key_grace must be at least ttl, or sessions would outlive their key")
	}
	return nil
}
