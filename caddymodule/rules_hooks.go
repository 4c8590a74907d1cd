package caddymodule

// repeatable lists the handler subdirectives that may appear more than
// once: the IP lists accumulate, and each rule line is its own rule.
func repeatable(key string) bool {
	switch key {
	case "allow_ip", "deny_ip":
		return true
	}
	return isRepeatableRule(key)
}
