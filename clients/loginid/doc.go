// Package loginid verifies, at the edge, the JWT that LoginID's DirectWeb
// browser SDK returns after a FIDO2 login (dw.login(username) resolves to
// {username, namespace, jwt}). The guard reads that JWT from the login
// POST or the step-up completion and calls Verifier.Verify with the user
// the request is about; only a fresh, unused, correctly signed
// authentication result for exactly that user passes.
//
// # Keys
//
// Two key sources, chosen by Config.Mode:
//
//   - ModePEM, DirectWeb's certs endpoint, answering one PEM public key per
//     kid: GET <KeyURL>?kid=<kid>, e.g.
//     https://jwt.usw1.loginid.io/certs?kid=f82151ed-cdc4-447c-bb80-981bfbcc2497
//     (DirectWebCertsURL builds the URL for a region).
//   - ModeJWKS, a JSON Web Key Set such as the one LoginID's newer passkey
//     service publishes at /fido2/v2/.well-known/jwks.json; the key is
//     picked by kid.
//
// The kid is validated (1 to 128 characters of [A-Za-z0-9._-]) before it is
// used anywhere, and URL-escaped when it is put in the query. Keys are
// cached (ristretto, bounded by KeyCacheSize); an unknown kid triggers a
// fetch that is de-duplicated across concurrent requests and gated by a
// token bucket (FetchBurst, then one per FetchInterval). A request that
// finds the bucket empty fails at once with unknown_kid rather than wait
// (key_unavailable while the host's last answer was a failure: a lookup
// the guard could not make), so a flood of made-up kids costs neither key
// host requests nor latency;
// kids the host disowns are remembered in a bounded negative cache. A
// cached key keeps verifying while the key host is down, also after KeyTTL:
// a stale key is used at once and re-checked in the background when the
// bucket allows, and dropped only when the host says the kid is gone (the
// token that triggered that re-check was still verified with it). A key
// fetch never runs on the request's context: a client that gives up stops
// waiting, the fetch goes on for the others, bounded by FetchTimeout, and
// Close cancels it. While the key host's last request failed, a lookup
// waits for its fetch at most half a second: past that it fails with
// key_unavailable and the fetch finds out in the background whether the
// host is back, so a host that hangs holds requests for FetchTimeout once,
// as the outage begins, not again at every fetch. Redirects from the key host are not followed; response
// bodies are read up to MaxResponseBytes.
//
// # What Verify enforces
//
// The algorithm is Config.Algorithm (only ES256), never the header's: "none"
// and HMAC tokens keyed with the public key are refused before any key
// is looked up, and the key is always used as an ES256 key. A crit header is
// refused; jku, jwk and x5u headers are ignored (keys come from config
// only). exp and iat are required; ClockSkew (default 30s) applies to exp,
// nbf and iat; a token is refused MaxAge (default 2m) after its iat, and an
// iat further in the future than the skew is refused. iss (when
// Config.Issuer is set), aud (must contain Config.ClientID) and the
// namespace claim (when Config.Namespace is set) are compared exactly. The
// user claim is compared byte for byte with the expected user: no case
// folding, trimming or Unicode normalisation, so "John" never passes for
// "john". Only authentication results count; a registration result is
// refused with registration_token.
//
// Replay: the nonce, or the token's signing input when there is no nonce
// (not the whole token: ECDSA signatures are malleable), is remembered
// until iat+MaxAge+ClockSkew in an exact, bounded ReplayCache. When it is
// full, new tokens are refused (replay_cache_full) rather than accepted
// unchecked. The default MemoryReplayCache is per process; keep it across
// config reloads (Config.ReplayCache) and replace it with a shared store
// when several guard instances serve the same users. A ReplayCache that
// fails otherwise (a shared store unreachable) refuses the token with
// replay_unavailable, which is not retryable: it fails closed.
//
// # Assumptions to check against LoginID's current reference
//
// The DirectWeb guide says the JWT "includes the username, credential type,
// nonce, timestamp, etc." and shows the header {alg: ES256, typ: JWT, kid},
// but does not name the claims. These defaults are assumptions, each
// configurable:
//
//   - user claim "udata" (what LoginID's Java server SDK compared the
//     username with; that SDK compared case-insensitively, this package
//     does not);
//   - type claim "type", authentication value "fido2_login", registration
//     value "fido2_register";
//   - namespace claim "nid";
//   - nonce claim "nonce";
//   - aud holds the DirectWeb client id (the dashboard's API key);
//   - exp is present: the guide does not promise it, and a token without
//     exp is refused (missing_exp) as the project requires;
//   - the certs endpoint answers a PEM "PUBLIC KEY" (a "CERTIFICATE" block,
//     or the PEM text as a JSON string, is accepted too) and says a kid is
//     unknown with a 4xx status (404 expected; 408 and 429 are treated as
//     transient);
//   - a JWKS key is usable when kty is EC on P-256 and use/alg, if present,
//     are sig/ES256.
//
// Nothing here logs. Errors are *Error values with stable sub-reasons and
// never quote the token or the user; key fetches are reported to an
// optional Observer.
package loginid
