//go:build tools

// Package deps pins modules the project uses in packages under construction
// so `go mod tidy` keeps them. It is never built.
package deps

import (
	_ "cel.dev/cel-go/cel"
	_ "github.com/caddyserver/xcaddy"
	_ "github.com/chromedp/chromedp"
	_ "github.com/dgraph-io/ristretto/v2"
	_ "github.com/go-webauthn/webauthn/webauthn"
	_ "github.com/lestrrat-go/jwx/v2/jwt"
	_ "golang.org/x/text/unicode/norm"
)
