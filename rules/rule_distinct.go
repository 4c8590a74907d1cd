package rules

import (
	"fmt"
	"time"
)

// DistinctRule is spray or spread. spray counts distinct user names per
// client address (credential stuffing, password spraying); spread counts
// distinct client addresses (by Normalizer prefix) per user name (one
// account attacked from a botnet). The attempt bringing the N+1th new
// value inside the window fires the rule; values already seen in the
// window do not. Like rate rules, refused values are not recorded, and a
// deny carries RetryAfter (429).
type DistinctRule struct {
	ruleCommon
	// Spray is true for spray (key ip, value user), false for spread
	// (key user, value ip).
	Spray  bool
	Limit  int
	Window time.Duration
}

func parseDistinctArgs(name string, args []string) (*DistinctRule, error) {
	key := "ip"
	if name == "spread" {
		key = "user"
	}
	if len(args) > 0 && args[0] == key {
		args = args[1:]
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: want [%s] <N>/<window> [deny|challenge] [monitor]", name, key)
	}
	return ParseDistinct(name, args[0], args[1:]...)
}

// ParseDistinct builds a spray or spread rule, e.g.
// ParseDistinct("spray", "20/10m", "challenge").
func ParseDistinct(name, limit string, opts ...string) (*DistinctRule, error) {
	if name != "spray" && name != "spread" {
		return nil, fmt.Errorf("unknown distinct rule %q (want spray or spread)", name)
	}
	n, w, err := ParseWindow(limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	c, err := parseOptions(name, opts, false, false, false)
	if err != nil {
		return nil, err
	}
	c.reason = name
	return &DistinctRule{ruleCommon: c, Spray: name == "spray", Limit: n, Window: w}, nil
}

func (r *DistinctRule) keys() (key, value KeyKind) {
	if r.Spray {
		return KeyIP, KeyUser
	}
	return KeyUser, KeyIP
}

func (r *DistinctRule) spec() string {
	if r.Spray {
		return "spray ip " + formatWindow(r.Limit, r.Window)
	}
	return "spread user " + formatWindow(r.Limit, r.Window)
}

// String implements Rule.
func (r *DistinctRule) String() string { return r.spec() + r.suffix() }
