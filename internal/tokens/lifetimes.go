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

// Check refuses a negative value (a negative rotation would switch
// rotation off) and a grace shorter than the ttl, which would end
// sessions before their time. Call it on defaulted lifetimes.
func (l Lifetimes) Check() error {
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"ttl", l.TTL}, {"key_rotation", l.Rotation}, {"key_grace", l.Grace}} {
		if v.d < 0 {
			return fmt.Errorf("%s must be positive, not %v", v.name, v.d)
		}
	}
	if l.Grace < l.TTL {
		return errors.New("key_grace must be at least ttl, or sessions would outlive their key")
	}
	return nil
}
