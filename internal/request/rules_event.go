package request

import (
	"fmt"

	"github.com/login-guard/login_guard/rules"
)

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
