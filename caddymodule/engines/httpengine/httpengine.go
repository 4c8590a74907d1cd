// Package httpengine is the `login_guard.engines.http` module: a generic
// JSON engine for in-house scoring services (clients/httpengine documents
// the versioned request schema and the {action, score, reasons} answer).
package httpengine

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/login-guard/login_guard/caddymodule/engines"
	client "github.com/login-guard/login_guard/clients/httpengine"
	"github.com/login-guard/login_guard/internal/caddyopt"
	"github.com/login-guard/login_guard/rules"
)

func init() {
	caddy.RegisterModule(HTTP{})
}

// HTTP configures one scoring service.
type HTTP struct {
	// Name is what routes call it (required; several may be configured).
	Name string `json:"name"`
	// URL receives the attempts.
	URL string `json:"url"`
	// Headers are sent with every call (for example Authorization).
	// Values accept {env.*} placeholders.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one call (default 2s, at most 30s); the route's deadline bounds
	// all engines together.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// AllowedReasons, when given, is the closed list of reasons the
	// service may give (in their sanitized form, [a-z0-9_]); any other
	// counts as "engine_other". Without it every reason the service
	// words, sanitized, reaches the audit line, the metrics and the
	// signed upstream headers beside the guard's own.
	AllowedReasons []string `json:"allowed_reasons,omitempty"`

	client *client.Client
}

// CaddyModule returns the Caddy module information.
func (HTTP) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: engines.Namespace + ".http", New: func() caddy.Module { return new(HTTP) }}
}

// Provision builds the client; it opens no connection.
func (h *HTTP) Provision(caddy.Context) error {
	if h.Name == "" {
		return fmt.Errorf("http engine: a name is required")
	}
	// An unset variable is an error, not a "Bearer " header that fails
	// every call into on_engine_failure.
	res := caddyopt.NewResolver()
	headers := make(map[string]string, len(h.Headers))
	for k, v := range h.Headers {
		headers[http.CanonicalHeaderKey(k)] = res.Value("header "+k, v)
	}
	url := res.Value("url", h.URL)
	if res.Err != nil {
		return fmt.Errorf("http engine %q: %w", h.Name, res.Err)
	}
	if err := caddyopt.CheckDuration("timeout", h.Timeout, client.MaxTimeout); err != nil {
		return fmt.Errorf("http engine %q: %w", h.Name, err)
	}
	var err error
	h.client, err = client.New(client.Config{
		Name:    h.Name,
		URL:     url,
		Headers: headers,
		Timeout: time.Duration(h.Timeout),

		AllowedReasons: h.AllowedReasons,
	})
	if err != nil {
		return fmt.Errorf("http engine %q: %w", h.Name, err)
	}
	return nil
}

// Cleanup closes idle connections. Caddy calls it even when Provision
// failed, so it tolerates a nil client.
func (h *HTTP) Cleanup() error {
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	return nil
}

// EngineName implements engines.Module.
func (h *HTTP) EngineName() string { return h.Name }

// Engine implements engines.Module.
func (h *HTTP) Engine() rules.Engine { return h.client }

// UnmarshalCaddyfile reads
//
//	http <name> {
//		url             <url>
//		header          <name> <value>
//		timeout         <duration>
//		allowed_reasons <reason...>
//	}
func (h *HTTP) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.NextArg() || d.Val() == "" {
		return d.Err("http engine: a name is required (http <name> { ... })")
	}
	h.Name = d.Val()
	// EachOption refuses a second argument, and any option but header
	// given twice.
	isHeader := func(key string) bool { return key == "header" }
	err := caddyopt.EachOption(d, "http engine", isHeader, func(key string) error {
		switch key {
		case "url":
			return caddyopt.CheckedArg(d, &h.URL, client.CheckURL)
		case "header":
			var name, value string
			if !d.Args(&name, &value) || d.NextArg() {
				return d.ArgErr()
			}
			// The client's rule, at the line (a value's placeholder is
			// checked again once resolved).
			if err := client.CheckHeader(name, value); err != nil {
				return d.Errf("http engine: %v", err)
			}
			name = http.CanonicalHeaderKey(name)
			if _, dup := h.Headers[name]; dup {
				return d.Errf("http engine: header %s given twice", name)
			}
			if h.Headers == nil {
				h.Headers = map[string]string{}
			}
			h.Headers[name] = value
			return nil
		case "timeout":
			return caddyopt.DurationArg(d, &h.Timeout, client.MaxTimeout)
		case "allowed_reasons":
			if err := caddyopt.ListArgs(d, &h.AllowedReasons); err != nil {
				return err
			}
			for _, r := range h.AllowedReasons {
				if err := client.CheckAllowedReason(r); err != nil {
					return d.Errf("http engine: %v", err)
				}
			}
			return nil
		}
		return d.Errf("http engine: unknown option %q", key)
	})
	if err != nil {
		return err
	}
	if h.URL == "" {
		return d.Err("http engine: url is required")
	}
	return nil
}

// Interface guards.
var (
	_ engines.Module        = (*HTTP)(nil)
	_ caddy.Provisioner     = (*HTTP)(nil)
	_ caddy.CleanerUpper    = (*HTTP)(nil)
	_ caddyfile.Unmarshaler = (*HTTP)(nil)
)
