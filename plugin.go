// Package loginguard is the module's root: importing it registers the
// login_guard Caddy modules, which is what
// `xcaddy build --with github.com/login-guard/login_guard=.` does.
package loginguard

import (
	_ "github.com/login-guard/login_guard/caddymodule"
)
