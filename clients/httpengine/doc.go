// Package httpengine is a generic decision engine for in-house scoring
// services: it POSTs each attempt as a small, versioned JSON document to a
// configured URL and maps the service's JSON answer to a rules.Verdict. It
// implements rules.Engine and knows nothing of Caddy.
//
// # Request: schema version 1
//
// One POST per attempt to Config.URL with the headers
//
//	Content-Type: application/json
//	Accept: application/json
//	User-Agent: login_guard
//
// plus Config.Headers (for example Authorization), and this body. Every key
// is always present, in this order, with these types:
//
//	{
//	  "version": 1,                        number: the schema version
//	  "route": "login",                    string: the guarded route's name
//	  "event": "login",                    string: login, logout, operation, step_up, ...
//	  "user": "alice",                     string: the user name as submitted
//	  "ip": "203.0.113.5",                 string: client IP (IPv4-mapped shown as IPv4; "" if unknown)
//	  "user_agent": "Mozilla/5.0 ...",     string
//	  "device_present": true,              bool: the device field was in the request
//	  "device": "...",                     string: the device payload ("" when absent or empty)
//	  "session": "",                       string: the guard's session id, "" before login
//	  "assertion": "",                     string: "", "valid" or "invalid"
//	  "time": "2025-01-02T03:04:05.678Z",  string: RFC 3339, UTC, milliseconds
//	  "outcome": "unknown"                 string: "unknown" (before the upstream answered), "success", "failure"
//	}
//
// The password is never part of an Attempt and so never sent. Request
// headers and cookies are not sent either: they can carry the user's
// credentials for the portal. A service that needs more asks for a new
// schema version; fields are only ever added with a version bump.
//
// # Response
//
// A 2xx answer with a JSON object:
//
//	{"action": "allow" | "challenge" | "deny", "score": 12.5, "reasons": ["new_device"], "correlation_id": "abc"}
//
// action is required and exact (lower case); any other word is an
// unknown_decision failure, a missing one or a body that is not such an
// object is malformed. score (a number), reasons (strings) and
// correlation_id are optional; unknown keys are ignored. A deny adds the
// reason engine_decline and a challenge engine_challenge, as every engine
// does, so routes can match on them whatever engine spoke.
//
// Reasons become metric labels and audit words, so they are reduced to a
// bounded, low-cardinality form before they reach the verdict (see
// SanitizeReason): ASCII lower case, every run of other characters turned
// into one "_", trimmed, at most Config.MaxReasonLen bytes, at most
// Config.MaxReasons of them, duplicates and empties dropped. With
// Config.AllowedReasons set, any other reason becomes "engine_other".
// correlation_id is kept (up to 128 bytes) as the verdict's correlation.
//
// Non-2xx answers, transport errors and oversized bodies are
// *engine.Failure values (status_4xx, status_5xx, status_other, refused,
// timeout, malformed) so the runner's breaker and failure policy apply
// (except to a 400, 413 or 422, which the request's content provoked:
// see engine.Combine).
// Errors never contain Config.Headers values or the URL.
package httpengine
