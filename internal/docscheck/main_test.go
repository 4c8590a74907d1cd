package docscheck

import (
	"os"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// asCaddy, set in a child's environment, makes the test binary run as the
// `caddy` command (with every module this package imports), so the quick
// start runs a separate Caddy process with its own HOME.
const asCaddy = "LOGIN_GUARD_DOCSCHECK_AS_CADDY"

func TestMain(m *testing.M) {
	if os.Getenv(asCaddy) == "1" {
		caddycmd.Main()
		return
	}
	os.Exit(m.Run())
}
