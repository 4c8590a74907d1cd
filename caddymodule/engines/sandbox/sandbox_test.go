package sandbox

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, c := range []struct {
		in, name string
		delay    time.Duration
	}{
		{"sandbox", "", 0},
		{"sandbox other {\n\tslow_delay 2s\n}", "other", 2 * time.Second},
		{"sandbox {\n\tslow_delay 1m\n}", "", time.Minute},
	} {
		var s Sandbox
		if err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in)); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if s.Name != c.name || time.Duration(s.SlowDelay) != c.delay {
			t.Errorf("%q: parsed %+v", c.in, s)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"sandbox a b", "Testfile:1"},
		{"sandbox {\n\tslow_delay 1s\n\tslow_delay 2s\n}", "sandbox: slow_delay given twice, at Testfile:3"},
		{"sandbox {\n\tslow_delay 1s 2s\n}", `unexpected argument "2s", at Testfile:2`},
		{"sandbox {\n\tslow_delay never\n}", `slow_delay: "never" must be a positive duration of at most 1m0s, at Testfile:2`},
		{"sandbox {\n\tslow_delay 10m\n}", `slow_delay: "10m" must be a positive duration of at most 1m0s, at Testfile:2`},
		{"sandbox {\n\tfast\n}", `sandbox: unknown option "fast", at Testfile:2`},
	} {
		var s Sandbox
		err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// TestProvisionRefusesANegativeDelay: a JSON slow_delay is held to the
// Caddyfile's rule (docs/configuration.md: positive, at most 1m).
func TestProvisionRefusesANegativeDelay(t *testing.T) {
	s := Sandbox{SlowDelay: caddy.Duration(-time.Second)}
	if err := s.Provision(caddy.Context{}); err == nil || !strings.Contains(err.Error(), `sandbox "sandbox": slow_delay must be a positive duration of at most 1m0s, not -1s`) {
		t.Errorf("got %v", err)
	}
	s = Sandbox{SlowDelay: caddy.Duration(time.Hour)}
	if err := s.Provision(caddy.Context{}); err == nil || !strings.Contains(err.Error(), `sandbox "sandbox": slow_delay must be a positive duration of at most 1m0s, not 1h0m0s`) {
		t.Errorf("1h: got %v", err)
	}
	for _, d := range []time.Duration{time.Second, time.Minute} {
		s = Sandbox{SlowDelay: caddy.Duration(d)}
		if err := s.Provision(caddy.Context{}); err != nil {
			t.Errorf("%v: %v", d, err)
		}
	}
}
