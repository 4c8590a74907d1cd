package caddymodule

import (
	_ "github.com/login-guard/login_guard/caddymodule/admin"
	_ "github.com/login-guard/login_guard/caddymodule/app"
	_ "github.com/login-guard/login_guard/caddymodule/engines/standard"
	_ "github.com/login-guard/login_guard/caddymodule/logbuffer"
	_ "github.com/login-guard/login_guard/caddymodule/login"
	_ "github.com/login-guard/login_guard/caddymodule/stepuproute"
)
