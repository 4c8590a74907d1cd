// Package docscheck holds the tests that keep the README and docs/ true to
// the code: every Caddyfile snippet adapts, validates and is `caddy fmt`
// clean; every Caddyfile keyword, JSON key and metric the code has is
// documented; the README's quick start works from a clean home directory.
//
// Fences in README.md and docs/*.md follow one convention:
//
//	```caddyfile          a complete Caddyfile, validated as is
//	```caddyfile site     the body of one site block (wrapped in
//	                      `http://localhost:8080 { ... }`)
//	```caddyfile global   the body of the global options block (wrapped in
//	                      `{ ... }` plus a minimal site)
//
// Syntax summaries with <placeholders> use ```text and are not validated.
package docscheck
