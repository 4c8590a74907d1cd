package smileid

import (
	"context"
	"net/netip"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// CounterLimiter is the per-user and per-IP limit on Smile ID's paid
// jobs when the guard has a shared store: every instance counts into the
// same sliding windows, so N instances do not buy N times the limit. The
// user rule is counted first; a submission the IP rule then refuses has
// spent one of the user's (over-counting a paid budget, never
// under-counting it), unless the store can give a hit back (HitStore),
// which it then does. A store failure refuses the submission.
type CounterLimiter struct {
	Store    counter.Store
	User, IP Rate
}

// HitStore is a counter.Store that names the hit Take recorded and can
// remove it again (the Redis store): what a Refunder's refund needs.
type HitStore interface {
	// TakeHit is Take; hit names the hit recorded ("" when none was).
	TakeHit(ctx context.Context, k counter.Key, limit int, window time.Duration) (res counter.Result, hit string, err error)
	// GiveBack removes hit from k's window; nothing when it has left it.
	GiveBack(ctx context.Context, k counter.Key, hit string) error
}

type limitStep struct {
	r     Rate
	key   counter.Key
	scope string
}

func (l *CounterLimiter) steps(user string, ip netip.Addr) [2]limitStep {
	return [2]limitStep{
		{l.User, counter.Key{Rule: "smileid/submit/user", Subject: "user=" + user}, "user"},
		{l.IP, counter.Key{Rule: "smileid/submit/ip", Subject: "ip=" + ClientKey(ip)}, "ip"},
	}
}

func (l *CounterLimiter) AllowSubmit(ctx context.Context, user string, ip netip.Addr) error {
	_, err := l.AdmitSubmit(ctx, user, ip)
	return err
}

// AdmitSubmit counts the submission and returns its refund (see
// Refunder): with a HitStore it removes the hits this admission recorded;
// with any other store it does nothing.
func (l *CounterLimiter) AdmitSubmit(ctx context.Context, user string, ip netip.Addr) (func(context.Context), error) {
	hs, _ := l.Store.(HitStore)
	var taken [2]string
	steps := l.steps(user, ip)
	refund := func(ctx context.Context) {
		for i, hit := range taken {
			if hit != "" {
				_ = hs.GiveBack(ctx, steps[i].key, hit)
			}
		}
	}
	for i, s := range steps {
		if s.r.N == 0 {
			continue
		}
		var res counter.Result
		var err error
		if hs != nil {
			res, taken[i], err = hs.TakeHit(ctx, s.key, s.r.N, s.r.Window)
		} else {
			res, err = l.Store.Take(ctx, s.key, s.r.N, s.r.Window)
		}
		var refused error
		switch {
		case err != nil:
			refused = err
		case res.Full:
			refused = ErrLimiterFull
		case !res.Allowed:
			refused = &LimitError{Scope: s.scope, RetryAfter: res.RetryAfter.Round(time.Second)}
		}
		if refused != nil {
			// Nothing is submitted: the rules counted before this one
			// give their hit back.
			refund(ctx)
			return nil, refused
		}
	}
	return refund, nil
}
