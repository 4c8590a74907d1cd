package formbody

import (
	"errors"
	"io"
	"testing"
)

// closeTracker is a request body that records reads and Close, so tests can
// see that Read did not touch a body it refused and that the restored body
// closes the original.
type closeTracker struct {
	r      io.Reader
	read   int
	closed int
}

func (c *closeTracker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func (c *closeTracker) Close() error {
	c.closed++
	return nil
}

// wantRefusal checks err is an *Error with the given status and reason.
func wantRefusal(t *testing.T, err error, status int, reason string) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want *Error %d %s", err, err, status, reason)
	}
	if fe.Status != status || fe.Reason != reason {
		t.Fatalf("refusal = %d %s (%q), want %d %s", fe.Status, fe.Reason, fe.Error(), status, reason)
	}
	return fe
}
