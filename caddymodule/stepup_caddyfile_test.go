package caddymodule_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/login-guard/login_guard/internal/testkit/caddytest"
)

// browserCaddyfile is the demo's step-up flow on http://localhost:<port>
// (localhost, not 127.0.0.1: WebAuthn needs a secure context, which
// http://localhost is, and the rp_id must be a domain). loginOpts are the
// login route's extra lines: none for the enrolment phase, the engine and
// step_up for the challenged ones.
func browserCaddyfile(dir string, port int, upstream, loginOpts string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %[1]s
	log {
		output file %[2]s
		format json
	}
	login_guard {
		sandbox
		passkeys {
			rp_id     localhost
			rp_origin http://localhost:%[3]d
		}
	}
}
http://localhost:%[3]d {
	bind 127.0.0.1
	@login {
		method POST
		path /api/login
	}
	login_guard @login {
		event login
		success {
			status 303
			location /account
			cookie portal_session
		}
		session_cookie portal_session
%[5]s
	}
	handle /verify* {
		login_guard {
			event step_up
			methods passkey
			enrol_done /account
		}
	}
	reverse_proxy %[4]s
}
`, filepath.Join(dir, "storage"), filepath.Join(dir, "caddy.log"), port, upstream, loginOpts)
}

func loadCaddyfile(t *testing.T, src string) {
	t.Helper()
	if err := caddy.Load(caddytest.Adapt(t, src), true); err != nil {
		t.Fatalf("loading config: %v\n%s", err, src)
	}
}
