package caddymodule

import (
	"sync"
	"testing"
)

// HoldStartForTest makes the next config's login_guard app hold its
// Start's work until release is called, while the rest of the config
// (the HTTP server, the admin API) runs. Call it just before loading the
// config and StopHoldingStarts just after.
func HoldStartForTest(t testing.TB) (release func()) {
	ch := make(chan struct{})
	startHoldForTest = ch
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// StopHoldingStarts lets later configs start normally.
func StopHoldingStarts() { startHoldForTest = nil }
