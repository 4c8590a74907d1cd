package rules

import (
	"fmt"
	"strings"
)

// Reasons the local rules give, besides the device and IP reasons in
// verdict.go. Counting rules add their own: rate_<key> (rate_ip,
// rate_user, rate_ip_user, rate_device), lockout_<key>, spray, spread.
const (
	// ReasonStoreFull: the counter store was full of keys it may not
	// evict, so this attempt's new key could not be counted; the policy's
	// on_full action applies.
	ReasonStoreFull = "store_full"
	// ReasonStoreUnavailable: the counter store failed (a shared store
	// out of reach); the on_full action applies.
	ReasonStoreUnavailable = "store_unavailable"
	// ReasonRuleError: a when expression failed at run time (cost limit,
	// missing header or counter); the rule's action applies, so an
	// attacker cannot dodge a rule by making it fail.
	ReasonRuleError = "rule_error"
	// ReasonWhen is a when rule's reason when the config names none.
	ReasonWhen = "when"
)

// Rule is one local rule of a Policy. Build rules with ParseRule (the
// arguments of one Caddyfile line) or the Parse* helpers; every rule
// renders back to config form with String.
type Rule interface {
	// String renders the rule as config, e.g. "rate ip_user 5/1m deny".
	String() string
	// Reason is the stable reason the rule records when it fires.
	Reason() string
	common() *ruleCommon
}

// ruleCommon is what every rule carries.
type ruleCommon struct {
	action  Action
	monitor bool
	reason  string
}

func (c *ruleCommon) common() *ruleCommon { return c }

// Reason implements Rule.
func (c *ruleCommon) Reason() string { return c.reason }

// Action is what the rule does when it fires.
func (c *ruleCommon) Action() Action { return c.action }

// Monitor reports whether the rule only logs (Verdict.Monitored).
func (c *ruleCommon) Monitor() bool { return c.monitor }

// suffix renders the action and monitor flag for String.
func (c *ruleCommon) suffix() string {
	s := " " + c.action.String()
	if c.monitor {
		s += " monitor"
	}
	return s
}

// ParseRule reads one rule from its Caddyfile arguments, directive first:
//
//	allow_ip <cidr...> [monitor]
//	deny_ip <cidr...> [monitor]
//	rate <ip|user|device|ip_user> <N>/<window> [deny|challenge] [monitor]
//	lockout <user|ip|ip_user> <N>/<window> for <duration> [deny|challenge] [monitor]
//	spray [ip] <N users>/<window> [deny|challenge] [monitor]
//	spread [user] <N addresses>/<window> [deny|challenge] [monitor]
//	device missing|empty <challenge|deny> [monitor]
//	when "<CEL expression>" <allow|challenge|deny> [reason] [monitor]
//
// The action defaults to deny where it is optional. Errors name the
// offending argument; the caller adds the file and line.
func ParseRule(args []string) (Rule, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("empty rule")
	}
	rest := args[1:]
	switch args[0] {
	case "allow_ip", "deny_ip":
		return parseIPRule(args[0] == "allow_ip", rest)
	case "rate":
		if len(rest) < 2 {
			return nil, fmt.Errorf("rate: want <ip|user|device|ip_user> <N>/<window> [deny|challenge] [monitor]")
		}
		return ParseRate(rest[0], rest[1], rest[2:]...)
	case "lockout":
		if len(rest) < 4 || rest[2] != "for" {
			return nil, fmt.Errorf("lockout: want <user|ip|ip_user> <N>/<window> for <duration> [deny|challenge] [monitor]")
		}
		return ParseLockout(rest[0], rest[1], rest[3], rest[4:]...)
	case "spray", "spread":
		return parseDistinctArgs(args[0], rest)
	case "device":
		if len(rest) < 2 {
			return nil, fmt.Errorf("device: want missing|empty <challenge|deny> [monitor]")
		}
		return ParseDevice(rest[0], rest[1:]...)
	case "when":
		if len(rest) < 2 {
			return nil, fmt.Errorf(`when: want "<expression>" <allow|challenge|deny> [reason] [monitor]`)
		}
		return ParseWhen(rest[0], rest[1:]...)
	}
	return nil, fmt.Errorf("unknown rule %q (want allow_ip, deny_ip, rate, lockout, spray, spread, device or when)", args[0])
}

// parseOptions reads the trailing [action] [reason] [monitor] options.
// needAction makes the action mandatory; allowReason accepts one reason
// identifier; allowAllow accepts "allow" as an action.
func parseOptions(rule string, opts []string, needAction, allowReason, allowAllow bool) (ruleCommon, error) {
	c := ruleCommon{action: Deny}
	haveAction := false
	for _, o := range opts {
		switch {
		case o == "monitor":
			if c.monitor {
				return c, fmt.Errorf("%s: monitor given twice", rule)
			}
			c.monitor = true
		case o == "deny" || o == "challenge" || o == "allow":
			if haveAction {
				return c, fmt.Errorf("%s: more than one action", rule)
			}
			if o == "allow" && !allowAllow {
				return c, fmt.Errorf("%s: action must be deny or challenge", rule)
			}
			c.action, _ = ParseAction(o)
			haveAction = true
		case allowReason && c.reason == "" && haveAction:
			if !validReason(o) {
				return c, fmt.Errorf("%s: reason %q must be 1-40 lowercase letters, digits or underscores", rule, o)
			}
			c.reason = o
		default:
			return c, fmt.Errorf("%s: unexpected argument %q (the rule ends with %s)", rule, o, optionsWanted(needAction, allowReason, allowAllow))
		}
	}
	if needAction && !haveAction {
		return c, fmt.Errorf("%s: an action is required (challenge or deny)", rule)
	}
	return c, nil
}

// optionsWanted says what parseOptions takes, for its refusals.
func optionsWanted(needAction, allowReason, allowAllow bool) string {
	actions := "deny|challenge"
	if allowAllow {
		actions = "allow|deny|challenge"
	}
	if !needAction {
		actions = "[" + actions + "]"
	}
	if allowReason {
		actions += " [reason]"
	}
	return actions + " [monitor]"
}

// validReason keeps reasons usable as metric labels.
func validReason(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quote renders an expression for String the way a Caddyfile reads it.
func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
