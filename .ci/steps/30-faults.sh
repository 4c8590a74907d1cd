#!/usr/bin/env bash
# The fault suite: the guard in real Caddy processes under restarts,
# reloads, SIGTERM, outages and floods (bounded volume, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -count=1 -timeout 6m -tags faults ./internal/faults/...
