// Local rules (this file documents the Policy; doc.go the decision model).
//
// A Policy is built once per guarded route from parsed config (ParseRule
// takes one Caddyfile line's arguments) and evaluated per attempt in two
// phases: Evaluate before the upstream (IP lists, rate, spray, spread,
// lockout check, device, when) and Observe after it (a failed login counts
// against lockouts, a success resets them). Counters live in a
// counter.Store shared by routes; see package counter for exactness and
// the memory bound. All windows use the store's injected clock.
//
// Keys are normalised before counting (Normalizer): user names trimmed,
// NFKC, case-folded; IPv6 clients by /64, IPv4 by /32, both configurable.
//
// Assumptions the vendor documents do not pin down:
//   - The SmartID payload (smartid_data) is opaque and may be re-encrypted
//     on every page load, so "rate device" keys on Signals.DeviceID when
//     the Caddy module or an engine supplies one and otherwise on a digest of the
//     payload (one page load).
//   - An empty smartid_data field means the SDK failed in the browser
//     (device empty); an absent field means it was stripped or never
//     rendered (device missing).
//   - Whether a login succeeded is judged by the Caddy module from the upstream's
//     answer and passed to Observe; this package does not read responses.
package rules
