package caddymodule

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/caddymodule/app"
)

// Cleanup unregisters the route's policy and releases its hold on the
// shared counter store. Caddy calls it when the config is unloaded, and
// also when Provision failed half-way, so every field may be unset.
func (h *Handler) Cleanup() error {
	rt := h.rulesRT
	if rt == nil {
		return nil
	}
	h.rulesRT = nil
	if rt.reg != nil {
		h.app.Routes().Remove(rt.reg)
	}
	if rt.storeKey != "" {
		app.ReleaseRulesStore(rt.storeKey)
	}
	return nil
}

var _ caddy.CleanerUpper = (*Handler)(nil)
