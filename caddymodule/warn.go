package caddymodule

import "sync"

// warnOnceFor returns the app's once-guard for the untrusted-proxy
// warning, so a config with many routes warns once, not once per route.
func warnOnceFor(a *App) *sync.Once { return &a.rt.xffOnce }
