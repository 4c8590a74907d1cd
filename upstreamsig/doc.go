// Package upstreamsig signs and verifies the X-Login-Guard-* headers the
// guard adds to a request it passes to the portal (`upstream_headers
// <secret>`), so a portal can check that the request came through the
// guard, that the guard judged this very method, path and user, and that
// the verdict is recent.
//
// Format version 2 (the only one): X-Login-Guard-Signature is "v2=" then
// the unpadded base64url HMAC-SHA256, under the shared secret, of the
// netstrings ("<decimal length>:<bytes>,") of, in order: the tag
// "login_guard-v2", the route name, the method, the path (as sent, without
// the query string), the user exactly as submitted, the action, the score,
// the reasons and the time in Unix seconds. Length prefixes make the
// encoding unambiguous whatever bytes a field holds (a user name may
// contain newlines or commas). X-Login-Guard-User carries the user as
// unpadded base64url, since a header cannot carry every byte a user name
// may hold.
//
// The action is "allow" for a verdict that is final, and "pending" when the
// guard will judge the login once more on the portal's answer (`evaluate
// after_upstream`): a portal must treat "pending" as "not yet approved".
package upstreamsig
