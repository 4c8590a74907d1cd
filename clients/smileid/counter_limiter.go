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
// under-counting it). A store failure refuses the submission.
type CounterLimiter struct {
	Store    counter.Store
	User, IP Rate
}

func (l *CounterLimiter) AllowSubmit(ctx context.Context, user string, ip netip.Addr) error {
	steps := [2]struct {
		r       Rate
		rule    string
		subject string
		scope   string
	}{
		{l.User, "smileid/submit/user", "user=" + user, "user"},
		{l.IP, "smileid/submit/ip", "ip=" + ClientKey(ip), "ip"},
	}
	for _, s := range steps {
		if s.r.N == 0 {
			continue
		}
		res, err := l.Store.Take(ctx, counter.Key{Rule: s.rule, Subject: s.subject}, s.r.N, s.r.Window)
		switch {
		case err != nil:
			return err
		case res.Full:
			return ErrLimiterFull
		case !res.Allowed:
			return &LimitError{Scope: s.scope, RetryAfter: res.RetryAfter.Round(time.Second)}
		}
	}
	return nil
}
