package request

import (
	"fmt"
	"sort"

	"github.com/login-guard/login_guard/rules"
)

// CheckEvent refuses a route handler's unknown event, and options only a
// login route reads (loginOnly: each option's name, and whether it was
// given) on another route, as the Caddyfile does at their line. The
// handler asks before it provisions anything: a rule that does not fit
// an unknown event would otherwise be named instead of the event, and
// the defaults it fills in would hide an option given where it does
// nothing.
func CheckEvent(route, event string, loginOnly map[string]bool) error {
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
