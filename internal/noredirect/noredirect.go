// Package noredirect is the redirect policy of every client the guard
// uses to call a vendor, an engine or a key host: a 3xx is the answer,
// never followed. net/http's own policy would follow it and, to another
// port or scheme of the same host, replay the Authorization header (a
// license, an API key); and a key host must not send the guard to fetch
// keys from somewhere else.
package noredirect

import "net/http"

// Check is an http.Client's CheckRedirect that follows no redirect.
func Check(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Client returns a copy of c (a caller's client, kept as given
// otherwise: its transport, jar and timeout) that follows no redirect, or
// a zero client that follows none when c is nil.
func Client(c *http.Client) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	}
	cc.CheckRedirect = Check
	return &cc
}
