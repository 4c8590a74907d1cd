#!/usr/bin/env bash
# The differential test: real PHP, Laravel (Illuminate's Request::input),
# Django, Werkzeug, Rack, Express and Spring Boot (Tomcat, Jackson)
# parsers read the pass and mutation corpora (internal/bodydiff), and
# their cookie readers (PHP's $_COOKIE, Django's and Werkzeug's cookies,
# Rack's, cookie-parser and express-session's cookie.parse, Tomcat's
# getCookies) the Cookie header corpus that
# request.PortalCookie is held to; and their routers (plus Rails' and
# Rack::URLMap) the login path's spellings, against the matchers
# docs/configuration.md recommends. Each under its development server
# (php -S, wsgiref, WEBrick) and its production one (php-fpm behind Caddy's
# php_fastcgi, gunicorn, Puma). Raw request framings, too, through a real
# Caddy with the guard in front of each of them (TestDifferentialFraming,
# docs/body-policy.md#transfer-framing: chunk sizes and extensions,
# trailers, bare LFs, Content-Length beside Transfer-Encoding, codings,
# Expect, HTTP/1.0, pipelining, a Connection header naming Content-Type);
# a few seconds of it. About a minute and a half; without -race.
set -euo pipefail
cd "$(dirname "$0")/../.."
(cd internal/bodydiff/testdata/node && npm ci --no-audit --no-fund)
CI=true go test -count=1 -tags differential ./internal/bodydiff/...
