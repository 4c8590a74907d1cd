package caddymodule

import (
	"context"
	"net/netip"
	"time"

	"github.com/login-guard/login_guard/rules/counter"
)

// sharedSubmitLimiter is the per-user and per-IP limit on Smile ID's paid
// jobs when the guard has a shared store: every instance counts into the
// same sliding windows, so N instances do not buy N times the limit. The
// user rule is counted first; a submission the IP rule then refuses has
// spent one of the user's (over-counting a paid budget, never
// under-counting it). A store failure refuses the submission.
type sharedSubmitLimiter struct {
	store    counter.Store
	user, ip rateLimit
}

func (l *sharedSubmitLimiter) AllowSubmit(ctx context.Context, user string, ip netip.Addr) error {
	steps := [2]struct {
		r       rateLimit
		rule    string
		subject string
		scope   string
	}{
		{l.user, "smileid/submit/user", "user=" + user, "user"},
		{l.ip, "smileid/submit/ip", "ip=" + ipKey(ip), "ip"},
	}
	for _, s := range steps {
		if s.r.n == 0 {
			continue
		}
		res, err := l.store.Take(ctx, counter.Key{Rule: s.rule, Subject: s.subject}, s.r.n, s.r.window)
		switch {
		case err != nil:
			return err
		case res.Full:
			return errLimiterFull
		case !res.Allowed:
			return &submitLimitError{Scope: s.scope, RetryAfter: res.RetryAfter.Round(time.Second)}
		}
	}
	return nil
}
