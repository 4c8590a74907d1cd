package caddymodule

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var (
	errDenied    = errors.New("request refused")
	errChallenge = errors.New("additional verification required")
)

// errRateLimited carries Retry-After for a 429.
type errRateLimited struct{ after time.Duration }

func (e errRateLimited) Error() string { return "too many requests" }

// RetryAfterSeconds is the Retry-After value, rounded up.
func (e errRateLimited) RetryAfterSeconds() string {
	s := int((e.after + time.Second - 1) / time.Second)
	return strconv.Itoa(s)
}

// refusalError is caddyhttp.Error for the guard's refusals, which are
// answers, not faults: it skips the stack walk caddyhttp.Error does for
// Trace (which costs more than the rest of a deny) and names the guard
// instead. The ID, which Caddy logs and handle_errors can show as
// {http.error.id}, is drawn as Caddy draws its own.
func refusalError(status int, err error) caddyhttp.HandlerError {
	return caddyhttp.HandlerError{ID: errorID(), StatusCode: status, Err: err, Trace: "login_guard"}
}

// errorID is 9 random lowercase letters and digits, like Caddy's error
// ids. It correlates log lines; it is not a secret.
func errorID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [9]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return string(b[:])
}
