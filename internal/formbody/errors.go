package formbody

import (
	"fmt"
	"net/http"
)

// Reasons are stable, low-cardinality identifiers for a refusal. The Caddy module
// uses them as metric labels and in audit lines, so they never carry data
// from the request.
const (
	ReasonBodyTooLarge         = "body_too_large"
	ReasonBodyRead             = "body_read"
	ReasonContentEncoding      = "content_encoding"
	ReasonUnsupportedMediaType = "unsupported_media_type"
	ReasonMalformedForm        = "malformed_form"
	ReasonMalformedMultipart   = "malformed_multipart"
	ReasonMalformedJSON        = "malformed_json"
	ReasonMalformedQuery       = "malformed_query"
	ReasonTooManyParts         = "too_many_parts"
	ReasonDuplicateField       = "duplicate_field"
	ReasonDuplicateKey         = "duplicate_key"
	ReasonQueryConflict        = "query_conflict"
	ReasonFieldNotString       = "field_not_string"
	ReasonTrailingData         = "trailing_data"
	ReasonTooDeep              = "too_deep"
)

// Error is the only error type this package returns. Status is the HTTP
// status the guard should answer with; Reason is one of the Reason*
// constants. The text of Error() is written for a person and is built only
// from the configuration (field names, limits), never from the body, so it
// can be logged or shown without leaking a password or a payload.
type Error struct {
	// Status is the HTTP status for the refusal (400, 413 or 415, or the
	// configured Spec.UnsupportedStatus).
	Status int
	// Reason is a stable identifier, one of the Reason* constants.
	Reason string
	// Field is the configured field name the refusal is about, when there
	// is one (duplicate_field, query_conflict, field_not_string). It comes
	// from the Spec, never from the request.
	Field string

	msg   string
	cause error
}

func (e *Error) Error() string {
	msg := e.msg
	if msg == "" {
		// An Error built by a caller as a literal still says something.
		msg = "request body refused: " + e.Reason
	}
	if e.cause != nil {
		return msg + ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the transport error behind a body_read refusal (for
// errors.Is with context.Canceled and the like); nil for every refusal that
// is about the body's content, so no parser message can echo body bytes.
func (e *Error) Unwrap() error { return e.cause }

func newError(status int, reason, msg string) *Error {
	return &Error{Status: status, Reason: reason, msg: msg}
}

func fieldError(reason, field, format string) *Error {
	return &Error{Status: http.StatusBadRequest, Reason: reason, Field: field, msg: fmt.Sprintf(format, field)}
}

func tooLarge(max int64) *Error {
	return newError(http.StatusRequestEntityTooLarge, ReasonBodyTooLarge,
		fmt.Sprintf("request body exceeds %d bytes", max))
}

func malformed(reason, msg string) *Error {
	return newError(http.StatusBadRequest, reason, msg)
}

// Reasons for refusals of the reading policy (see policy.go): shapes that
// some mainstream framework reads differently from the guard.
const (
	ReasonCharset            = "charset"
	ReasonInvalidUTF8        = "invalid_utf8"
	ReasonAmbiguousName      = "ambiguous_field_name"
	ReasonAmbiguousPart      = "ambiguous_part_headers"
	ReasonAmbiguousBoundary  = "ambiguous_boundary"
	ReasonAmbiguousMediaType = "ambiguous_content_type"
	ReasonAmbiguousNumber    = "ambiguous_number"
	ReasonCookieConflict     = "cookie_conflict"
	ReasonTooManyFields      = "too_many_fields"
	ReasonTrailers           = "trailers"
	ReasonHopByHopHeader     = "hop_by_hop_header"
	ReasonMissingUser        = "missing_user"
	ReasonInvalidOperation   = "invalid_operation"
	ReasonRepeatedHeader     = "repeated_header"
)

// Refusal builds an Error for a refusal decided outside this package (a
// login without a user, an operation value that is not a plain number), so
// every refusal of a guarded request has one type, status and reason. msg
// must come from the configuration, never from the request.
func Refusal(status int, reason, msg string) *Error {
	return newError(status, reason, msg)
}
