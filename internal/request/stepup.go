package request

import (
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/app"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/internal/stepup"
)

// StepUp is a route's step-up machinery: the issuer of its states, built
// on first use because the used-token set comes from the app's pool. The
// login route issues states with it, the step-up route verifies them.
type StepUp struct {
	// Prefix binds states to the client's address prefix.
	Prefix stepup.IPPrefix

	mu     sync.Mutex
	issuer *stepup.Issuer
	rt     *app.StepUpRuntime
}

// Machinery returns the route's issuer and the app's pooled state. Only a
// success is kept: an error (a request on a stopped config) must not
// stick to the route.
func (su *StepUp) Machinery(a *app.App) (*stepup.Issuer, *app.StepUpRuntime, error) {
	su.mu.Lock()
	defer su.mu.Unlock()
	if su.issuer != nil {
		return su.issuer, su.rt, nil
	}
	rt, err := a.StepUpRuntime()
	if err != nil {
		return nil, nil, err
	}
	t := a.StepUp
	iss, err := stepup.NewIssuer(stepup.Config{
		Keys:        a.Tokens(),
		Used:        rt.Used,
		Failures:    rt.Failures,
		MaxFailures: t.FactorAttempts,
		StateTTL:    time.Duration(t.StateTTL),
		ContinueTTL: time.Duration(t.ContinuationTTL),
		IPPrefix:    su.Prefix,
		Now:         time.Now,
	})
	if err != nil {
		return nil, nil, err
	}
	su.issuer, su.rt = iss, rt
	return iss, rt, nil
}

// RefusalReason names a step-up refusal for the audit line.
func RefusalReason(prefix string, err error) string {
	if r := stepup.ReasonOf(err); r != "" {
		return prefix + r
	}
	return prefix + "internal_error"
}

// ParseIPPrefix reads `ip_prefix <v4 bits> [<v6 bits>]`, the prefixes a
// step-up state is bound to; the login route and the step-up route read
// it alike.
func ParseIPPrefix(d *caddyfile.Dispenser) (v4, v6 int, err error) {
	args := d.RemainingArgs()
	if len(args) == 0 || len(args) > 2 {
		return 0, 0, d.Errf("ip_prefix takes the IPv4 prefix length and optionally the IPv6 one, e.g. ip_prefix 24 48")
	}
	if v4, err = prefixBits(args[0], 8, 32); err != nil {
		return 0, 0, d.Errf("ip_prefix: %v", err)
	}
	if len(args) == 2 {
		if v6, err = prefixBits(args[1], 16, 128); err != nil {
			return 0, 0, d.Errf("ip_prefix: %v", err)
		}
	}
	return v4, v6, nil
}

func prefixBits(s string, lo, hi int) (int, error) {
	n, ok := caddyopt.WholeNumber(s, lo, hi) // digits only: "+24" is refused
	if !ok {
		return 0, fmt.Errorf("%q must be a prefix length from %d to %d", s, lo, hi)
	}
	return n, nil
}
