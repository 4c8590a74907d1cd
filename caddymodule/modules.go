package caddymodule

// The modules built beside the route handler: importing this package
// registers them all.
import (
	_ "github.com/login-guard/login_guard/caddymodule/admin"
	_ "github.com/login-guard/login_guard/caddymodule/engines/standard"
)
