package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// EngineOptions are a route's engine settings.
type EngineOptions struct {
	// Mode monitor computes, logs and counts the verdict but always passes.
	Mode string `json:"mode,omitempty"`
}

// AppEngines are the engines the app configures.
type AppEngines struct{}

// heldResponse is an upstream response withheld after the upstream.
type heldResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}

func (h *Handler) unmarshalEngineDirective(d *caddyfile.Dispenser, key string) (bool, error) {
	return false, nil
}

func (a *App) unmarshalEngineOption(d *caddyfile.Dispenser, key string) (bool, error) {
	return false, nil
}

func (a *App) provisionEngines(ctx caddy.Context) error { return nil }

func (a *App) stopEngines() {}

func (h *Handler) provisionEngines() error { return nil }

func (x *exchange) consultEngines() {}

func (h *Handler) monitorOnly() bool { return h.Mode == "monitor" }

// monitored moves the verdict's action into the log only.
func (x *exchange) monitored() {}
