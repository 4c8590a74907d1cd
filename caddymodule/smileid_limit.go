package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// submitLimiter is the exact per-user and per-IP counter in front of Smile
// ID's paid jobs (it implements smileid.Limiter). Exact rather than
// approximate because every admitted request costs money: a sketch that
// under-counts under collisions would let a user spend more than the
// limit says. Memory is bounded by maxKeys; when the table is full of live
// windows, submissions are refused rather than a window forgotten.
type submitLimiter struct {
	user, ip rateLimit
	maxKeys  int
	now      func() time.Time

	mu      sync.Mutex
	windows map[string]*limitWindow
}

// rateLimit is n events per window; n == 0 disables the rule.
type rateLimit struct {
	n      int
	window time.Duration
}

type limitWindow struct {
	start time.Time
	count int
}

// errSubmitLimited is returned (wrapped in *submitLimitError) when a rule
// refuses; errLimiterFull when the table has no room.
var (
	errSubmitLimited = errors.New("selfie submissions over the limit")
	errLimiterFull   = errors.New("selfie submission limiter full")
)

// submitLimitError carries when the refused client may try again.
type submitLimitError struct {
	Scope      string // "user" or "ip"
	RetryAfter time.Duration
}

func (e *submitLimitError) Error() string {
	return fmt.Sprintf("%v (%s; retry in %s)", errSubmitLimited, e.Scope, e.RetryAfter.Round(time.Second))
}

func (e *submitLimitError) Unwrap() error { return errSubmitLimited }

func newSubmitLimiter(user, ip rateLimit, maxKeys int, now func() time.Time) *submitLimiter {
	if now == nil {
		now = time.Now
	}
	return &submitLimiter{user: user, ip: ip, maxKeys: maxKeys, now: now, windows: map[string]*limitWindow{}}
}

// AllowSubmit counts one paid submission for user and ip, or refuses it.
// Both rules are checked before either is counted, so a refusal by one
// does not spend the other's budget. IPv6 clients are counted per /64:
// one host usually holds the whole prefix.
func (l *submitLimiter) AllowSubmit(_ context.Context, user string, ip netip.Addr) error {
	now := l.now()
	keys := [2]string{"u\x00" + user, "i\x00" + ipKey(ip)}
	rules := [2]rateLimit{l.user, l.ip}
	scopes := [2]string{"user", "ip"}
	l.mu.Lock()
	defer l.mu.Unlock()
	var ws [2]*limitWindow
	for i, r := range rules {
		if r.n == 0 {
			continue
		}
		w := l.windows[keys[i]]
		if w != nil && now.Sub(w.start) >= r.window {
			w.start, w.count = now, 0
		}
		if w != nil && w.count >= r.n {
			return &submitLimitError{Scope: scopes[i], RetryAfter: w.start.Add(r.window).Sub(now)}
		}
		ws[i] = w
	}
	for i, r := range rules {
		if r.n == 0 {
			continue
		}
		if ws[i] == nil {
			if len(l.windows) >= l.maxKeys && !l.sweep(now) {
				return errLimiterFull
			}
			ws[i] = &limitWindow{start: now}
			l.windows[keys[i]] = ws[i]
		}
	}
	for i, r := range rules {
		if r.n != 0 {
			ws[i].count++
		}
	}
	return nil
}

// sweep drops windows that have ended; true when room was made.
func (l *submitLimiter) sweep(now time.Time) bool {
	longest := max(l.user.window, l.ip.window)
	for k, w := range l.windows {
		if now.Sub(w.start) >= longest {
			delete(l.windows, k)
		}
	}
	return len(l.windows) < l.maxKeys
}

func ipKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
