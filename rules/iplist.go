package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// IPList is a set of CIDR ranges. A bare address is a single-host range.
type IPList struct {
	prefixes []netip.Prefix
}

// ParseIPList reads CIDRs or addresses; the error names the bad entry.
func ParseIPList(entries []string) (IPList, error) {
	var l IPList
	for _, e := range entries {
		p, err := parsePrefix(e)
		if err != nil {
			return IPList{}, err
		}
		l.prefixes = append(l.prefixes, p)
	}
	return l, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: %v", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid IP address %q: %v", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Len is the number of ranges.
func (l IPList) Len() int { return len(l.prefixes) }

// Contains reports whether ip falls in any range. IPv4-mapped IPv6
// addresses are matched as IPv4 so "::ffff:10.0.0.1" cannot dodge
// "10.0.0.0/8".
func (l IPList) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range l.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
