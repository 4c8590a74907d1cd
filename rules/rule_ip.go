package rules

import (
	"fmt"
	"strings"
)

// IPRule is allow_ip or deny_ip. A deny_ip match ends evaluation at once
// (nothing can be worse, and counting a denied address would only let it
// fill the store). An allow_ip match ends evaluation too when the policy
// says AllowShortCircuit; otherwise it only records ip_allowed.
type IPRule struct {
	ruleCommon
	allow   bool
	list    IPList
	entries []string
}

func parseIPRule(allow bool, args []string) (*IPRule, error) {
	name := "deny_ip"
	if allow {
		name = "allow_ip"
	}
	r := &IPRule{allow: allow}
	var cidrs []string
	for _, a := range args {
		if a == "monitor" {
			r.monitor = true
			continue
		}
		cidrs = append(cidrs, a)
	}
	if len(cidrs) == 0 {
		return nil, fmt.Errorf("%s: at least one address or CIDR is required", name)
	}
	l, err := ParseIPList(cidrs)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	r.list, r.entries = l, cidrs
	if allow {
		r.action, r.reason = Allow, ReasonIPAllowed
	} else {
		r.action, r.reason = Deny, ReasonIPDenied
	}
	return r, nil
}

// String implements Rule.
func (r *IPRule) String() string {
	s := "deny_ip "
	if r.allow {
		s = "allow_ip "
	}
	s += strings.Join(r.entries, " ")
	if r.monitor {
		s += " monitor"
	}
	return s
}
