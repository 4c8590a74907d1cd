// Package passkeys is login_guard's built-in second factor: WebAuthn
// passkey registration and assertion over github.com/go-webauthn/webauthn,
// with credentials kept in Caddy storage and a strict rule for who may
// enrol. It imports nothing from Caddy: the Caddy module passes Caddy's storage as
// a Store (certmagic.Storage has the same four methods).
//
// Storage layout (KeyPrefix defaults to "login_guard/passkeys"):
//
//	<KeyPrefix>/users/<UserKey(user)>.json   one record per user
//
// A record holds the user's opaque handle (32 random bytes, the WebAuthn
// user.id: never the user name), the go-webauthn credential records, the
// ids of enrolment links already spent, and the user's LoginID record
// (loginid.go: a LoginID registration seen under the enrolment rule, or
// imported). UserKey defaults to a SHA-256
// of the name; pass a keyed pseudonym (tokens.Keyset.Pseudonym) so storage
// does not let anyone confirm a guessed user name. Writes happen under
// Store.Lock on "<KeyPrefix>/users/<UserKey(user)>".
//
// Ceremony state (the go-webauthn SessionData between Begin and Finish) is
// kept server-side in a bounded map with a TTL, under a random id the Caddy module
// puts in a cookie. Server-side rather than sealed in a token because
// deleting it on Finish makes every challenge one-use without a separate
// replay cache, and the challenge never leaves the guard but in the
// options. It is per process: a Begin and its Finish must reach the same
// Caddy instance.
//
// Enrolment is the dangerous step: whoever registers a passkey can later
// pass step-up. MayEnroll allows it only with a guard session from a
// recent login that was not challenged and that the upstream accepted, or
// with a one-time enrolment token the admin API issues; never while a
// step-up is pending, where an attacker holding the password would
// register their own authenticator.
//
// Assumptions not fixed by the issue:
//   - Attestation is not required ("none" accepted); the guard trusts the
//     enrolment rule, not the authenticator model.
//   - A sign-count regression (go-webauthn's CloneWarning) refuses the
//     login and marks the credential, which keeps refusing until removed,
//     unless Config.AllowCloneWarning. Authenticators that always report 0
//     (synced passkeys) never trigger it.
//   - Login is not discoverable: the guard knows the user from the step-up
//     state and lists that user's credentials.
//   - Nothing here starts a goroutine; expired ceremonies are dropped
//     lazily.
package passkeys
