#!/usr/bin/env bash
# The shared-store suite: real redis-server processes (single node and a
# local three-master Cluster) on loopback ports, two Caddy processes
# sharing them. Without -race (the processes are real); a few minutes.
set -euo pipefail
go test -count=1 -timeout 10m -tags redis ./internal/redisstore/... ./internal/redistest/...
