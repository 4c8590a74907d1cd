package caddymodule

import "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

// isRepeatableRule reports whether a rule subdirective may be given more
// than once.
func isRepeatableRule(string) bool { return false }

// unmarshalRuleDirective parses a rule subdirective; ok is false for keys
// that are not rules.
func (h *Handler) unmarshalRuleDirective(d *caddyfile.Dispenser, key string) (ok bool, err error) {
	return false, nil
}

// provisionRules compiles the route's rules.
func (h *Handler) provisionRules() error { return nil }

// applyRules evaluates the route's rules before the upstream.
func (x *exchange) applyRules() {}

// observeOutcome feeds the upstream's answer to rules that count it.
func (x *exchange) observeOutcome() {}

// RuleOptions are a route's local rules.
type RuleOptions struct{}
