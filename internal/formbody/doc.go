// Package formbody reads the body of a guarded request (login, logout,
// operation) so the guard can see the user and the SmartID device payload,
// and hands the upstream exactly the same bytes.
//
// The guard's promise is that the app never reads a value the guard did
// not see. So the package refuses, rather than guesses, whenever two
// reasonable parsers could read the same request differently: a content
// type it does not parse, a Content-Encoding, a user or device field that
// appears twice or both in the query string and the body, JSON keys equal
// ignoring case, invalid UTF-8 in JSON, trailing data. Every refusal is an
// *Error with an HTTP status and a stable reason; its text is built from
// the configuration only and never contains body bytes, so a password can
// not leak through an error. Password fields are dropped while parsing.
//
// Read and Parse are separate so each can be tested and measured;
// ParseRequest does both.
//
// Assumptions the SmartID integration guide does not pin down:
//   - The form field names are those of the guide's example form
//     (username, password, smartid_data); Spec makes them configurable.
//   - An empty smartid_data means the SDK failed; an absent one means the
//     field was stripped. Fields.Device keeps the two apart.
//   - Form values are returned as percent-decoded bytes; a charset
//     parameter is accepted and not applied.
//   - JSON names (the user path, Get) compare ignoring case, as Go's
//     encoding/json matches struct fields; form and multipart names are
//     case-sensitive, as every common form parser treats them. Password
//     names always compare ignoring case.
//   - Multipart follows Go's ParseMultipartForm: a part with a non-empty
//     filename is a file (skipped); other named parts are values.
package formbody
