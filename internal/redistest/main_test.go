//go:build redis

package redistest

import (
	"os"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddyproc"
)

func TestMain(m *testing.M) {
	caddyproc.MaybeRunAsCaddy()
	os.Exit(m.Run())
}
