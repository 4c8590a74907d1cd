package caddymodule

import "github.com/login-guard/login_guard/internal/pages"

// answerError is an answer handed to the site's handle_errors (on an
// `error_pages handle_errors` route): its text, {http.error.message}, is
// the answer's code, which names no rule or engine.
type answerError struct{ code pages.Code }

func (e answerError) Error() string { return string(e.code) }
