package caddymodule

// The local-rules layer (rate, lockout, spray, spread, device, when) plugs
// into the handler through these hooks. This file holds the allow/deny
// lists only; rules_*.go files extend it.

// repeatable lists subdirectives that may appear more than once.
func repeatable(key string) bool {
	switch key {
	case "allow_ip", "deny_ip":
		return true
	}
	return isRepeatableRule(key)
}
