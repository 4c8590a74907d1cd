#!/usr/bin/env bash
# staticcheck over every package, with every suite's build tag so the
# tagged tests are checked too (the version is pinned: its findings change
# between releases).
set -euo pipefail
cd "$(dirname "$0")/../.."
tags="$(ls .ci/steps/*.sh | xargs -n1 basename | sed 's/^[0-9]*-//; s/\.sh$//' | grep -vx staticcheck | paste -sd, -)"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags "$tags" ./...
