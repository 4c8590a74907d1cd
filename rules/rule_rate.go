package rules

import (
	"fmt"
	"time"
)

// RateRule limits attempts per key in a sliding window: the N+1th attempt
// inside the window fires the rule. A deny carries RetryAfter (429).
//
// What counts: every attempt the rule sees and does not itself limit,
// including attempts another rule denies or challenges. An attacker pays
// for every request sent, and no two-phase commit is needed across rules.
// Attempts the rule limits are not counted, so a client that backs off is
// let in again exactly when its oldest counted attempt leaves the window.
// Attempts ended early by deny_ip (or allow_ip with AllowShortCircuit) are
// not counted, and neither is an attempt that lacks the key's parts (no
// user name for a user key, no payload for a device key).
type RateRule struct {
	ruleCommon
	Key    KeyKind
	Limit  int
	Window time.Duration
}

// ParseRate builds a rate rule from its Caddyfile arguments, e.g.
// ParseRate("ip_user", "5/1m", "deny").
func ParseRate(key, limit string, opts ...string) (*RateRule, error) {
	k, err := ParseKeyKind(key)
	if err != nil {
		return nil, fmt.Errorf("rate: %v", err)
	}
	n, w, err := ParseWindow(limit)
	if err != nil {
		return nil, fmt.Errorf("rate: %v", err)
	}
	c, err := parseOptions("rate", opts, false, false, false)
	if err != nil {
		return nil, err
	}
	c.reason = "rate_" + k.String()
	return &RateRule{ruleCommon: c, Key: k, Limit: n, Window: w}, nil
}

func (r *RateRule) spec() string {
	return "rate " + r.Key.String() + " " + formatWindow(r.Limit, r.Window)
}

// String implements Rule.
func (r *RateRule) String() string { return r.spec() + r.suffix() }
