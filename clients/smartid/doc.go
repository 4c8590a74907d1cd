// Package smartid is a Caddy-free client for the SmartID v5 analytics API:
// the login, logout and operation events the guard reports after it has
// seen them. SmartID answers every event with an immediate 200 and scores
// it later, so the guard never waits for it: Enqueue validates and encodes
// an event, puts it on a bounded queue and returns; a pool of workers
// delivers it with bounded retries.
//
// # Wire format
//
// Every event is a POST of a JSON object with the headers
// "Content-Type: application/json" and "Authorization: Bearer <license>" to
//
//	<endpoint>/api/v5/analytics/<web|app>/<login|logout|operation>      (production)
//	<endpoint>/api-dev/v5/analytics/<web|app>/<login|logout|operation>  (dev/QA)
//
// The vendor's pages show web login and logout, app login (production and
// dev), app logout and app operation. Web operation and the dev prefix on
// logout and operation are not shown; this package builds them by the same
// pattern. The endpoint may carry a path prefix ("https://host/smartid"),
// which is kept in front of the API path.
//
// Field rules, taken from the reference and the web-portal guide:
//
//   - login: channelId, user, publicIp and data are always sent; data is ""
//     when the browser SDK produced nothing (the web-portal guide's rule).
//     session is omitted when empty.
//   - logout: channelId, user and session are required; publicIp and data
//     are omitted when empty.
//   - operation: channelId and timestamp are required (the reference's
//     table requires timestamp although its example omits it). The nested
//     objects transaction, account, order, accountTo, debitFrom, creditTo
//     and creditCard are each omitted entirely when the caller set none of
//     their fields (an Order is "set" when its amount is non-zero or its
//     currency is non-empty); a present object always carries all of its
//     keys, empty strings and zeros included, as the reference's example
//     does. transaction.details is {} when the transaction is present but
//     has no details. order.amount is a JSON number (10.5, 0): a sum of
//     money in order.currency, so from 0 to below AmountLimit (1e15); a
//     negative amount, NaN or an infinity is refused (ValidAmount).
//
// Assumptions the vendor documents do not pin down:
//
//   - channelId must be positive: 0 is treated as "not set".
//   - timestamp (and nothing else) is formatted by this package, as
//     ISO 8601 / RFC 3339 with milliseconds in the time's own zone:
//     "2006-01-02T15:04:05.000Z07:00". transaction.date is the caller's
//     string, sent as given.
//   - publicIp is the textual form of the address; an IPv4-mapped IPv6
//     address is sent as plain IPv4 and a zone is dropped.
//   - Only 2xx counts as delivered. 5xx, 429 and network errors are
//     retried; any other status (including 3xx: redirects are not followed,
//     so the license is never replayed to another host) fails at once.
//
// # Delivery, counters and shutdown
//
// The queue holds encoded bodies, so memory is bounded by
// Config.QueueSize × Config.MaxEventBytes. When the queue is full the event
// is dropped, counted and reported to the Observer. Close stops accepting,
// lets the workers drain the queue until its context ends, abandons the
// rest (dropped, reason "shutdown") and returns after every worker exited.
//
// # Sending
//
// The API takes one event per request. By default each worker keeps one
// HTTP/1.1 connection to SmartID (TLS with Config.TLSConfig or the system
// roots for https) and writes each request from a pre-built template; the
// bytes are those net/http would send. Events already waiting in the queue
// when a worker takes one are written back to back in one write and their
// answers read in order (pipelining); an event whose answer never came is
// sent again on its own, and a server that drops a pipeline turns
// pipelining off for the client. Under steady load (events closer together
// than Config.Linger, default 20ms) a worker that takes an event from an
// empty queue first waits out that window, so the events of the next few
// milliseconds share its write; an event after a quiet spell goes at once,
// and Close does not wait. Answers are parsed strictly and within
// bounds: anything but a Content-Length or chunked body (none for 204 and
// 304) fails the attempt, which is retried on a new connection.
//
// net/http's client is used instead when Config.HTTPClient is set, when a
// proxy from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) applies
// to the endpoint, when its host name is not plain ASCII, and, from the
// first refusal on, when the server refuses HTTP/1.1 at the TLS handshake
// (HTTP/2 only).
//
// Nothing here logs. The Observer receives one Report per delivery,
// retry, failure and drop with the event kind, HTTP status, attempt and
// duration; reports and errors never contain the license or the payload.
package smartid
