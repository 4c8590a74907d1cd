// Package faults is the fault suite: it runs the guard in real Caddy
// processes (the test binary re-executed as Caddy, see
// internal/testkit/caddyproc) against fake portals, engines, key hosts
// and a fake SmartID, and injects restarts, reloads, SIGTERM, outages,
// slow and over-size answers, floods and malformed bodies. Its tests
// carry the build tag faults and run as their own CI step:
//
//	go test -count=1 -tags faults ./internal/faults/...
//
// docs/operations-faults.md lists the cases and the outcomes they check.
package faults
