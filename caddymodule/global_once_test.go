package caddymodule_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestGlobalBlocksOnce: a global block the guard has one of is refused
// when given twice, naming the second one's line, instead of the second
// silently replacing the first (as passkeys once did).
func TestGlobalBlocksOnce(t *testing.T) {
	blocks := []struct{ key, block string }{
		{"smartid", "smartid {\n   endpoint https://smartid.example.com\n   license l\n   channel 1\n  }"},
		{"session", "session {\n   ttl 8h\n  }"},
		{"breaker", "breaker {\n   failures 5\n  }"},
		{"loginid", "loginid {\n   mode pem\n   client_id c\n   region us\n  }"},
		{"start_wait", "start_wait 2s"},
		{"pages", "pages {\n   portal_name P\n  }"},
		{"passkeys", "passkeys {\n   rp_id example.com\n   rp_origin https://example.com\n  }"},
		{"step_up", "step_up {\n   state_ttl 5m\n  }"},
		{"smileid", "smileid {\n   partner_id 1\n   api_key k\n   callback_url https://example.com/verify/smileid/callback\n  }"},
		{"rules_store", "rules_store {\n   max_keys 1000\n  }"},
		{"store", "store redis {\n   address 127.0.0.1:6379\n  }"},
	}
	// Engines are the exception: one block a named engine.
	engines := "{\n login_guard {\n  http a {\n   url https://a.example.com/score\n  }\n  http b {\n   url https://b.example.com/score\n  }\n }\n}\n:8080 {\n respond ok\n}\n"
	if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(engines), map[string]any{"filename": "Caddyfile"}); err != nil {
		t.Fatalf("two named http engines: %v", err)
	}
	// The login_guard block itself, given twice, is refused at the
	// second one's line.
	twoApps := "{\n login_guard {\n  start_wait 1s\n }\n login_guard {\n  start_wait 2s\n }\n}\n:8080 {\n respond ok\n}\n"
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(twoApps), map[string]any{"filename": "Caddyfile"})
	if want := "login_guard global option given twice, at Caddyfile:5"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("the login_guard block twice: got %v, want an error with %q", err, want)
	}
	for _, b := range blocks {
		t.Run(b.key, func(t *testing.T) {
			once := "{\n login_guard {\n  " + b.block + "\n }\n}\n:8080 {\n respond ok\n}\n"
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(once), map[string]any{"filename": "Caddyfile"}); err != nil {
				t.Fatalf("the block once: %v", err)
			}
			second := 3 + strings.Count(b.block, "\n") + 1
			twice := "{\n login_guard {\n  " + b.block + "\n  " + b.block + "\n }\n}\n:8080 {\n respond ok\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(twice), map[string]any{"filename": "Caddyfile"})
			want := fmt.Sprintf("%s given twice, at Caddyfile:%d", b.key, second)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("the block twice: got %v, want an error with %q", err, want)
			}
		})
	}
}
