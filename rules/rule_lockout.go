package rules

import (
	"fmt"
	"time"
)

// LockoutRule counts failed logins, as judged from the upstream's answer
// (Policy.Observe): Limit failures inside Window lock the key for LockFor,
// and the next attempt fires the rule. A success on the key resets it
// (failures and lock), except for ip keys: an attacker holding one valid
// account must not be able to launder an address's failures by logging in.
//
// Concurrent attempts are counted exactly: each attempt that passes the
// check holds a slot until Observe settles it (or the policy's Hold runs
// out), so a burst of parallel guesses cannot all pass before the first
// failure is recorded.
//
// A lockout never sets RetryAfter and its deny is meant to look like any
// other deny: the reason (lockout_user, ...) goes to audit and metrics,
// and the public response stays generic so it does not tell an attacker
// which names are being locked. Locking by user name alone lets anyone
// lock a victim out: prefer ip_user keys, or challenge instead of deny.
type LockoutRule struct {
	ruleCommon
	Key     KeyKind
	Limit   int
	Window  time.Duration
	LockFor time.Duration
}

// MaxLockDays bounds a lockout's duration (its `for`), in days: a longer
// lock is a unit typed wrong (30d for 30m) or a ban, which deny_ip or the
// portal's own account lock says plainly; a rule's window may still be
// up to MaxDays.
const MaxLockDays = 30

// ParseLockout builds a lockout rule from its Caddyfile arguments, e.g.
// ParseLockout("ip_user", "5/15m", "30m", "challenge").
func ParseLockout(key, limit, lockFor string, opts ...string) (*LockoutRule, error) {
	k, err := ParseKeyKind(key)
	if err != nil {
		return nil, fmt.Errorf("lockout: %v", err)
	}
	if k == KeyDevice {
		return nil, fmt.Errorf("lockout: key must be user, ip or ip_user")
	}
	n, w, err := ParseWindow(limit)
	if err != nil {
		return nil, fmt.Errorf("lockout: %v", err)
	}
	d, err := ParseDuration(lockFor)
	if err == nil && d > MaxLockDays*24*time.Hour {
		err = fmt.Errorf("invalid duration %q: a lockout lasts at most %dd", lockFor, MaxLockDays)
	}
	if err != nil {
		return nil, fmt.Errorf("lockout: for: %v", err)
	}
	c, err := parseOptions("lockout", opts, false, false, false)
	if err != nil {
		return nil, err
	}
	c.reason = "lockout_" + k.String()
	return &LockoutRule{ruleCommon: c, Key: k, Limit: n, Window: w, LockFor: d}, nil
}

func (r *LockoutRule) spec() string {
	return "lockout " + r.Key.String() + " " + formatWindow(r.Limit, r.Window) + " for " + formatDuration(r.LockFor)
}

// String implements Rule.
func (r *LockoutRule) String() string { return r.spec() + r.suffix() }
