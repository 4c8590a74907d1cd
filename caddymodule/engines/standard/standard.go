// Package standard registers the engines shipped with login_guard: import
// it (the module's root package does) and the app finds them by module id
// under login_guard.engines.
package standard

import (
	_ "github.com/login-guard/login_guard/caddymodule/engines/forter"
	_ "github.com/login-guard/login_guard/caddymodule/engines/httpengine"
	_ "github.com/login-guard/login_guard/caddymodule/engines/sandbox"
)
