package smartid

import (
	"errors"
	"fmt"
)

// Errors Enqueue returns. Validation problems are *FieldError values.
var (
	// ErrClosed: Close has been called; the event was not accepted.
	ErrClosed = errors.New("smartid: client closed")
	// ErrQueueFull: the queue was full and the event was dropped. The drop
	// is also counted and reported to the Observer, so the caller may
	// ignore this error rather than log the same drop twice.
	ErrQueueFull = errors.New("smartid: queue full, event dropped")
	// ErrEventTooLarge: the encoded event exceeds Config.MaxEventBytes.
	ErrEventTooLarge = errors.New("smartid: encoded event exceeds MaxEventBytes")

	errNilEvent = errors.New("smartid: nil event")
)

// FieldError reports a field of an event that is missing or invalid. It
// names the field, never its value: values can be device payloads.
type FieldError struct {
	Event  EventKind
	Field  string // the JSON name, e.g. "publicIp" or "order.amount"
	Reason string // "required", "must be positive", ...
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("smartid: %s event: %s %s", e.Event, e.Field, e.Reason)
}

func required(kind EventKind, field string) error {
	return &FieldError{Event: kind, Field: field, Reason: "is required"}
}
