#!/usr/bin/env bash
# Browser suite (build tag browser): headless Chromium walks the demo
# through every page a person can meet (internal/pages: DOM, screenshots,
# axe-core) and the passkey step-up (caddymodule). Chromium, the font and
# node come from .ci/packages.d/browser.txt; axe-core from the committed
# package-lock.json. About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null; then
	apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
(cd internal/pages/testdata/axe && npm ci --no-audit --no-fund)
CI="${CI:-1}" go test -count=1 -tags browser -run '^TestBrowser' ./caddymodule/... ./internal/pages/...
