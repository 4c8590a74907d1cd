// Package rules is login_guard's decision model: the Attempt a guarded
// request becomes, the Verdict the guard reaches, and the local rules that
// contribute to it. It imports nothing from Caddy so it can be tested with
// plain tables and reused behind any HTTP server.
package rules
