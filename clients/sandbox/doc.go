// Package sandbox is an embedded, deterministic decision engine: no
// network, no state, the same answer for the same attempt. It is the
// demo's default engine and lets the guard's engine plumbing (deadline,
// failure policy, breaker, step-up) be exercised end to end without a
// vendor account, the way a vendor's sandbox answers fixed test data.
//
// # Test data
//
// The user name is looked up first, then the client IP; the first match
// decides. Everyone else is allowed with score ScoreDefault.
//
//	user                 IP            behaviour   verdict
//	sandbox-allow        192.0.2.1     allow       allow, score 0
//	sandbox-challenge    192.0.2.2     challenge   challenge, engine_challenge, score 60
//	sandbox-deny         192.0.2.3     deny        deny, engine_decline, score 95
//	sandbox-slow         192.0.2.4     slow        waits for SlowDelay (default 10s) or the
//	                                               context's end, whichever is first; then
//	                                               allow, or the context's error
//	sandbox-error        192.0.2.5     error       ErrSandbox (the engine "failed")
//
// The IPs are from TEST-NET-1 (RFC 5737), which never routes on the
// Internet, so no real client can land on them by chance; IPv4-mapped IPv6
// forms match too. Table returns these rows so docs and tests use the same
// values.
//
// Every verdict carries a correlation whose ID is derived from the
// attempt's route, user, IP and time ("sbx-" and 16 hex digits), so audit
// lines and step-up flows have an id to show, and the same attempt always
// gets the same id.
package sandbox
