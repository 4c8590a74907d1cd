package caddymodule_test

import (
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// TestMain keeps Caddy's autosave and storage out of the developer's home.
func TestMain(m *testing.M) { caddytest.Main(m) }
