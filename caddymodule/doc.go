// Package caddymodule registers every login_guard Caddy module: the app
// (app), the login route (login), the step-up route (stepuproute), the
// admin API (admin) and the engines shipped with it (engines/standard).
// Import it, as the module's root package does, to build them into Caddy.
//
// The decision model lives in rules/, the vendor clients in clients/, and
// the request-level pieces in internal/; see docs/design-layout.md.
package caddymodule
