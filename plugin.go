// Package loginguard is the module's root: importing it registers the
// login_guard Caddy modules. From a checkout, xcaddy builds a Caddy with it
// as
//
//	xcaddy build --with github.com/login-guard/login_guard@v0.0.0=.
//
// (the @v0.0.0 names a version for a module the proxy does not know; the
// replacement =. supplies it), or `go run ./examples/build -o ./caddy`,
// which reads the same build from xcaddy.json.
package loginguard

import (
	_ "github.com/login-guard/login_guard/caddymodule"
)
