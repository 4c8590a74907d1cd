// Package stepup is the Caddy-free core of login_guard's step-up flow: the
// signed state a challenge carries to the step-up page, the one-use checks
// on its completion, the bounded store that keeps the login the user
// started (or the upstream answer withheld after it), the continuation
// that brings the browser back to finish that login, target validation for
// step-up URLs, the step-up page's script, and the parsing of an operator's own
// step-up page (page_template; the built-in one lives in internal/pages).
//
// The flow the Caddy module drives:
//
//  1. A challenge puts the original request (before upstream) or the
//     withheld upstream response (after upstream) in a Held store, gets a
//     Ref {Handle, Key}, and Issues a State token carrying that Ref. The
//     token goes in a cookie and the browser gets a 303 to the step-up page.
//  2. The step-up page and its passkey endpoints Verify the state (this
//     does not use it up).
//  3. After the factor succeeded, the completion endpoint Redeems the state
//     (one use: a second completion is refused as "replayed"), Issues a
//     Continuation token into a cookie and answers 303/307 to the login URL.
//  4. The guard on the login route ConsumeContinuation (one use again),
//     Takes the held entry with the Ref, and forwards the stored request or
//     releases the stored response.
//
// In "resubmit" mode nothing is held: step 3 issues a Pass instead, and the
// next login POST from the same user, route, IP prefix and agent skips the
// challenge once (ConsumePass).
//
// Assumptions the issue does not pin down, recorded here so the Caddy module can
// check them:
//   - The state, continuation and pass are tokens.Keyset tokens with purposes
//     "stepup", "continue" and "resubmit"; each is one-use through a shared
//     UsedSet, keyed by purpose and the state's random handle.
//   - The client IP is bound by prefix (default /32 IPv4, /64 IPv6); the
//     prefix is fixed at issue, so a config change later does not widen it.
//   - The user agent is bound by a SHA-256 hash of the whole header value.
//   - Verify and Redeem check Binding.User and Binding.Route only when they
//     are non-empty, because one completion endpoint may serve several
//     routes and learns the user from the state itself. ConsumeContinuation
//     and ConsumePass always compare the route, and ConsumePass the user.
//   - Held entries are sealed with AES-256-GCM under a per-entry random key
//     that lives only in the tokens; the store keeps ciphertext. When the
//     store is full the oldest entry is evicted (the user then has to log in
//     again), so a burst of challenges cannot block new ones.
//   - Nothing here starts a goroutine: expired entries are dropped lazily on
//     each call.
package stepup
