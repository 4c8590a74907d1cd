// Package caddymodule is login_guard's Caddy glue: the `login_guard` app
// (global options: shared clients, queues and keys) and the
// `http.handlers.login_guard` handler placed on the routes to guard.
//
// The decision model lives in rules/, the vendor clients in clients/, and
// the request-level helpers in internal/; this package only wires them to
// Caddy's lifecycle, Caddyfile, placeholders, metrics and admin API.
package caddymodule
