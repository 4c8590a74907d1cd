// Command caddy is Caddy with the login_guard module plugged in: the
// pattern xcaddy generates, so `go run ./examples/caddy` needs nothing
// installed.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/login-guard/login_guard"
)

func main() {
	caddycmd.Main()
}
