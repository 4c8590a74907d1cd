package smileid

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/login-guard/login_guard/rules"
)

// MemoryLimiter is the exact per-user and per-IP counter in front of paid
// jobs (it implements Limiter). Exact rather than
// approximate because every admitted request costs money: a sketch that
// under-counts under collisions would let a user spend more than the
// limit says. Memory is bounded by maxKeys; when the table is full of live
// windows, submissions are refused rather than a window forgotten.
type MemoryLimiter struct {
	user, ip Rate
	maxKeys  int
	now      func() time.Time

	mu      sync.Mutex
	windows map[string]*limitWindow
}

// Rate is N submissions per Window; N == 0 disables the rule.
type Rate struct {
	N      int
	Window time.Duration
}

type limitWindow struct {
	start time.Time
	count int
}

// ErrSubmitLimited is returned (wrapped in *LimitError) when a rule
// refuses; ErrLimiterFull when the table has no room.
var (
	ErrSubmitLimited = errors.New("selfie submissions over the limit")
	ErrLimiterFull   = errors.New("selfie submission limiter full")
)

// LimitError carries when the refused client may try again.
type LimitError struct {
	Scope      string // "user" or "ip"
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v (%s; retry in %s)", ErrSubmitLimited, e.Scope, e.RetryAfter.Round(time.Second))
}

func (e *LimitError) Unwrap() error { return ErrSubmitLimited }

// NewMemoryLimiter counts per user and per IP; it holds at most maxKeys
// windows. now is the clock (nil: time.Now).
func NewMemoryLimiter(user, ip Rate, maxKeys int, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{user: user, ip: ip, maxKeys: maxKeys, now: now, windows: map[string]*limitWindow{}}
}

// AllowSubmit counts one paid submission for user and ip, or refuses it.
// Both rules are checked before either is counted, so a refusal by one
// does not spend the other's budget. Addresses are counted the way the
// local rules count them by default (rules.Normalizer: IPv6 per /64, since
// one host usually holds the whole prefix).
func (l *MemoryLimiter) AllowSubmit(ctx context.Context, user string, ip netip.Addr) error {
	_, err := l.AdmitSubmit(ctx, user, ip)
	return err
}

// AdmitSubmit is AllowSubmit that returns the admission's refund (see
// Refunder): it uncounts the submission from each window it was counted
// in, unless that window has ended since (a later window's count is
// never lowered).
func (l *MemoryLimiter) AdmitSubmit(_ context.Context, user string, ip netip.Addr) (func(context.Context), error) {
	now := l.now()
	keys := [2]string{"u\x00" + user, "i\x00" + ClientKey(ip)}
	rates := [2]Rate{l.user, l.ip}
	scopes := [2]string{"user", "ip"}
	l.mu.Lock()
	defer l.mu.Unlock()
	var ws [2]*limitWindow
	for i, r := range rates {
		if r.N == 0 {
			continue
		}
		w := l.windows[keys[i]]
		if w != nil && now.Sub(w.start) >= r.Window {
			w.start, w.count = now, 0
		}
		if w != nil && w.count >= r.N {
			return nil, &LimitError{Scope: scopes[i], RetryAfter: w.start.Add(r.Window).Sub(now)}
		}
		ws[i] = w
	}
	for i, r := range rates {
		if r.N == 0 {
			continue
		}
		if ws[i] == nil {
			if len(l.windows) >= l.maxKeys && !l.sweep(now) {
				return nil, ErrLimiterFull
			}
			ws[i] = &limitWindow{start: now}
			l.windows[keys[i]] = ws[i]
		}
	}
	var starts [2]time.Time
	for i, r := range rates {
		if r.N != 0 {
			ws[i].count++
			starts[i] = ws[i].start
		}
	}
	return func(context.Context) { l.refund(keys, ws, starts) }, nil
}

// refund uncounts one submission from the windows ws (nil: not counted),
// each still under its key and started at its start.
func (l *MemoryLimiter) refund(keys [2]string, ws [2]*limitWindow, starts [2]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range ws {
		if w != nil && l.windows[keys[i]] == w && w.start.Equal(starts[i]) && w.count > 0 {
			w.count--
		}
	}
}

// sweep drops windows that have ended; true when room was made.
func (l *MemoryLimiter) sweep(now time.Time) bool {
	longest := max(l.user.Window, l.ip.Window)
	for k, w := range l.windows {
		if now.Sub(w.start) >= longest {
			delete(l.windows, k)
		}
	}
	return len(l.windows) < l.maxKeys
}

// ClientKey is the key a client address is counted under: IPv6 per /64
// (one host usually holds the whole prefix; rules.Normalizer's default),
// IPv4 per address.
func ClientKey(ip netip.Addr) string {
	p := rules.Normalizer{}.IP(ip)
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}
