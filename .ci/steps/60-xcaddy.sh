#!/usr/bin/env bash
# The xcaddy build the README, docs/production.md and its container recipe
# use (go run ./examples/build on xcaddy.json), and docs/production.md's
# Caddyfile validated by the binary it makes. Compiles Caddy: a few minutes
# with a warm module cache.
set -euo pipefail
go test -count=1 -tags xcaddy -run TestXcaddyBuildAndProductionCaddyfile -timeout 30m ./internal/docscheck/
