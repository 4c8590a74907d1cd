package caddymodule

import (
	"math/rand/v2"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/login-guard/login_guard/internal/pages"
)

// answerError is an answer handed to the site's handle_errors (on an
// `error_pages handle_errors` route): its text, {http.error.message}, is
// the answer's code, which names no rule or engine.
type answerError struct{ code pages.Code }

func (e answerError) Error() string { return string(e.code) }

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
