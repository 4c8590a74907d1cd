package request

import (
	"errors"
	"fmt"
	"sort"

	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

// CheckEvent refuses a route handler's name that is not one
// (caddyopt.CheckRouteName), its unknown event, and options only a
// login route reads (loginOnly: each option's name, and whether it was
// given) on another route, as the Caddyfile does at their line. The
// handler asks before it provisions anything: a rule that does not fit
// an unknown event would otherwise be named instead of the event, and
// the defaults it fills in would hide an option given where it does
// nothing.
func CheckEvent(route, event string, loginOnly map[string]bool) error {
	if err := caddyopt.CheckRouteName(route); err != nil {
		return err // it names the route
	}
	switch event {
	case EventLogin, EventLogout, EventOperation, EventNone:
	case "":
		return fmt.Errorf("route %q: event is required (login, logout, operation or none)", route)
	default:
		return fmt.Errorf("route %q: unknown event %q (want login, logout, operation, none or step_up)", route, event)
	}
	names := make([]string, 0, len(loginOnly))
	for name, given := range loginOnly {
		if given && event != EventLogin {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return fmt.Errorf("route %q: %s is only for event login", route, names[0])
	}
	return nil
}

// ruleFitsEvent refuses a rule that cannot work on a route with this
// event.
func ruleFitsEvent(r rules.Rule, event string) error {
	switch r.(type) {
	case *rules.LockoutRule:
		if event != EventLogin {
			return fmt.Errorf("%s: a lockout counts failed logins judged from the upstream's answer, so it needs event login, not %s", r, event)
		}
	case *rules.DeviceRule:
		if event == EventStepUp {
			return fmt.Errorf("%s: step-up pages carry no SmartID payload, so a device rule would fire on every request", r)
		}
	}
	return nil
}

// RuleMisfit finds the first rule that does not fit a route with this
// event, by its index in Rules (-1 when all fit). Provision refuses it
// too; a Caddyfile parser asks once its block is read (the event may come
// after the rule) so the refusal names the rule's line.
func (o *RuleOptions) RuleMisfit(event string) (int, error) {
	for i, s := range o.Rules {
		r, err := rules.ParseRuleString(s)
		if err != nil {
			continue // Provision refuses it, naming it
		}
		if err := ruleFitsEvent(r, event); err != nil {
			return i, err
		}
	}
	return -1, nil
}

// Unused finds an option given without the rule it tunes, where it would
// do nothing: on_full, on_store_failure, ipv4_prefix and ipv6_prefix
// tune the counting rules (rate, lockout, spray, spread: `when` and
// device rules count nothing), lockout_hold the lockouts. It returns the
// option, for a Caddyfile parser to name its line, and the refusal.
func (o *RuleOptions) Unused() (string, error) {
	counting, lockout := false, false
	for _, s := range o.Rules {
		r, err := rules.ParseRuleString(s)
		if err != nil {
			continue // Provision refuses it, naming it
		}
		_, isLockout := r.(*rules.LockoutRule)
		counting, lockout = counting || countsAttempts(r), lockout || isLockout
	}
	for _, c := range []struct {
		option string
		given  bool
	}{
		{"on_full", o.OnFull != ""},
		{"on_store_failure", o.OnStoreFailure != ""},
		{"ipv4_prefix", o.IPv4Prefix != 0},
		{"ipv6_prefix", o.IPv6Prefix != 0},
	} {
		if c.given && !counting {
			return c.option, fmt.Errorf("%s needs a rule that counts (rate, lockout, spray or spread)", c.option)
		}
	}
	if o.LockoutHold != 0 && !lockout {
		return "lockout_hold", errors.New("lockout_hold needs a lockout rule (event login)")
	}
	return "", nil
}
