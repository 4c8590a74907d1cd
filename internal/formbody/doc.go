// Package formbody reads the body of a guarded request (login, logout,
// operation) so the guard can see the user and the SmartID device payload,
// and hands the upstream exactly the same bytes.
//
// The guard's promise is that the app never reads a value the guard did
// not see, whichever framework the app runs on. So the package passes a
// body only when every mainstream parser (PHP, Django, Werkzeug, Rack,
// Express with qs/body-parser/multer/busboy, Go's net/http, and what
// Spring and ASP.NET document) would read the same guarded fields from it,
// and refuses the rest. The policy is stated in policy.go and enforced in
// one place per rule: names a framework normalises onto a guarded name
// (checkName), charsets and media types (classify), multipart framing and
// part headers (parseMultipart), guarded values (resolve). A user or
// device field that appears twice or both in the query string and the
// body, JSON keys equal ignoring case, invalid UTF-8, trailing data,
// trailers and a Connection header naming a header the body is read by
// (which a proxy removes before the app reads the body) are refused too.
// Every refusal is an *Error with an HTTP status and a stable reason; its
// text is built from the configuration only and never contains body
// bytes, so a password can not leak through an error. Password fields are
// dropped while parsing.
//
// Read and Parse are separate so each can be tested and measured;
// ParseRequest does both, reading a small body into the one allocation
// that also holds what the request keeps (the body put back, the fields).
// The common shapes (a form or JSON Content-Type spelled the usual way,
// lower-case ASCII names) take fast paths (fastpath.go) that give the
// general path's answer without its cost; a test compares the two over the
// policy's corpora. The differential test in internal/bodydiff runs the
// real parsers over a mutation corpus.
//
// Assumptions the SmartID integration guide does not pin down:
//   - The form field names are those of the guide's example form
//     (username, password, smartid_data); Spec makes them configurable. A
//     bracket name (user[email]) is matched exactly, which is the path PHP
//     and Rack build from it.
//   - An empty smartid_data means the SDK failed; an absent one means the
//     field was stripped. Fields.Device keeps the two apart.
//   - Form values are returned as percent-decoded bytes; the only charset
//     is UTF-8 (us-ascii for an all-ASCII body).
//   - Names compare exactly; a name that differs from a guarded one only in
//     ways some framework ignores is refused rather than matched. Password
//     names compare ignoring case and are dropped.
//   - A multipart part with a filename is a file (skipped); a guarded name
//     on a file part is refused.
package formbody
