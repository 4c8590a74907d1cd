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
// Nor may a kid flood keep out the new key LoginID rotates to. In JWKS
// mode it cannot: any fetch brings the whole set, so the flood's own fetch
// with the next token the bucket refills (at most FetchInterval later)
// caches the new key. In PEM mode a request answers one kid, so the token
// must go to the right one: the lookups the empty bucket refused are
// counted per kid in a table of 256 kids (the space-saving algorithm: a
// kid's count is never below its refused lookups; when the table is full a
// new kid replaces one with the smallest count and starts just above it, at
// floor+1), and a refilled token goes to the kid counted highest. When that
// is not the lookup that found the token, the token starts that kid's fetch
// in the background and the lookup fails as if the bucket were empty
// (reported as FetchRateLimited): still one host request per token, and
// nobody waits for a fetch they did not ask for. Made-up kids sent once
// each count at most floor+1, and the floor rises by one for about every
// 255 refused lookups, while the new kid gains one per real login. So with
// f made-up kids sent once per real login for the new kid, f below 255, the
// new kid is on top after about 255/(255-f) of those logins (2 while f is
// at most 127, 5 at f = 200, 17 at f = 240) and is fetched with the next
// token: at most FetchInterval (10s) later, since the flood's own lookups
// hand it over. With one such login a second, that holds against a flood of
// up to about 250 made-up kids a second. What an attacker can still do: a
// flood of 255 or more made-up kids per real login gives no such bound (the
// new kid then gets a token when its own lookup is the first to find one,
// as without the table; made-up kids sent once never take a token from it);
// and a made-up kid sent more often than users asked for the new kid
// outranks it, but only once: it is fetched, answered "unknown" and
// negative-cached for NegativeTTL. To keep the new key out for n tokens the
// attacker needs n such kids, each with about as many lookups as users made
// for the new kid by then: with one real login a second, some 200 lookups
// for a minute's delay, 650,000 (180 a second) for an hour's. A kid's count
// is dropped when its fetch ends. The table holds at most 256 kids of at
// most 128 bytes; lookups of cached keys never touch it.
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
// (not the whole token: ECDSA signatures are malleable; the header and
// payload must be canonical base64url, so the signing input has one
// spelling), is remembered until a second past iat+MaxAge+ClockSkew, the
// last instant the token passes, in an exact, bounded ReplayCache. When
// it is full, new tokens are refused (replay_cache_full) rather than
// accepted unchecked. Since anyone with a LoginID credential can mint
// tokens for their own name, one user's tokens may hold at most
// Config.ReplayPerUser of its unexpired entries (the user claim exactly
// as signed: a self-registered "ALICE" must not spend alice's share),
// and the tokens sent from one client network (IPv4 /24, IPv6 /48) at
// most Config.ReplayPerClient; past either the tokens are refused
// (replay_user_limit, Reason assertion_replay_user_limit;
// replay_client_limit, Reason assertion_replay_client_limit; neither
// retryable) until the share's oldest entry expires, so filling the
// cache takes ReplayCacheSize/ReplayPerClient networks (and as many
// self-registered names as ReplayPerUser requires) rather than one
// account. The default MemoryReplayCache is per process; keep it across
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
