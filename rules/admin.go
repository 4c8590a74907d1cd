package rules

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/login-guard/login_guard/rules/counter"
)

// AdminFilter selects a policy's counters for an admin view. Values are
// given as a support desk has them (raw user name, address) and are
// normalised the way the policy counts. Empty fields match anything.
type AdminFilter struct {
	// User matches keys of this user: user keys and ip_user keys.
	User string
	// IP matches keys of this address's prefix: ip and ip_user keys.
	IP string
	// LimitedOnly keeps only keys that are locked or at their limit.
	LimitedOnly bool
}

// ErrAdminFilter is wrapped by List's and Clear's refusals of the
// filter itself (a bad address, a user empty once normalised), as
// opposed to the store's failures.
var ErrAdminFilter = errors.New("bad admin filter")

// filter turns an AdminFilter into a store filter limited to this
// policy's counters.
func (p *Policy) filter(f AdminFilter) (counter.Filter, error) {
	var userPart, ipPart string
	if f.User != "" {
		u := userKey(p.norm.User(f.User))
		if u == "" {
			return counter.Filter{}, fmt.Errorf("%w: user name is empty after normalisation", ErrAdminFilter)
		}
		userPart = "user=" + u
	}
	if f.IP != "" {
		a, err := netip.ParseAddr(f.IP)
		if err != nil {
			return counter.Filter{}, fmt.Errorf("%w: invalid IP address %q", ErrAdminFilter, f.IP)
		}
		ipPart = "ip=" + p.norm.IP(a).String()
	}
	prefix := p.scope + "/"
	ids := make(map[string]bool, len(p.counting))
	for _, c := range p.counting {
		ids[c.id] = true
	}
	return counter.Filter{
		LimitedOnly: f.LimitedOnly,
		Match: func(k counter.Key) bool {
			if !strings.HasPrefix(k.Rule, prefix) || !ids[k.Rule] {
				return false
			}
			ipP, userP := splitSubject(k.Subject)
			if ipPart != "" && ipP != ipPart {
				return false
			}
			if userPart != "" && userP != userPart {
				return false
			}
			return true
		},
	}, nil
}

// List returns up to max of this policy's held counters matching f, e.g.
// AdminFilter{LimitedOnly: true} for "current lockouts and limited keys".
// Entry.Key.Rule is the scope and the rule's config form.
func (p *Policy) List(ctx context.Context, f AdminFilter, max int) ([]counter.Entry, error) {
	if p.store == nil {
		return nil, nil
	}
	cf, err := p.filter(f)
	if err != nil {
		return nil, err
	}
	return p.store.List(ctx, cf, max)
}

// Clear forgets this policy's counters matching f and returns how many:
// AdminFilter{User: "JLopez"} lifts every lockout and limit on that user,
// from any address.
func (p *Policy) Clear(ctx context.Context, f AdminFilter) (int, error) {
	if p.store == nil {
		return 0, nil
	}
	cf, err := p.filter(f)
	if err != nil {
		return 0, err
	}
	return p.store.Clear(ctx, cf)
}

// splitSubject returns the "ip=..." and "user=..." parts of a subject
// (either may be empty). An address prefix holds no space, so the first
// space of an ip_user subject ends the address.
func splitSubject(s string) (ip, user string) {
	switch {
	case strings.HasPrefix(s, "ip="):
		if i := strings.IndexByte(s, ' '); i >= 0 {
			return s[:i], s[i+1:]
		}
		return s, ""
	case strings.HasPrefix(s, "user="):
		return "", s
	}
	return "", ""
}
