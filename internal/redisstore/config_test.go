package redisstore

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "at least one address"},
		{Config{Addresses: []string{"localhost"}}, "host:port"},
		{Config{Mode: "ring", Addresses: []string{"a:1"}}, "mode must be"},
		{Config{Addresses: []string{"a:1", "b:2"}}, "exactly one address"},
		{Config{Mode: ModeCluster, Addresses: []string{"a:1"}, DB: 2}, "db is not available in cluster mode"},
		{Config{Mode: ModeSentinel, Addresses: []string{"a:1"}}, "master_name"},
		{Config{Addresses: []string{"a:1"}, MasterName: "m"}, "sentinel mode"},
		{Config{Addresses: []string{"a:1"}, Prefix: "x{y}"}, "braces"},
		{Config{Addresses: []string{"a:1"}, Prefix: "x*"}, "glob"},
		{Config{Addresses: []string{"a:1"}, DB: 16}, "db must be"},
		{Config{Addresses: []string{"a:1"}, Timeout: -1}, "timeout"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// An address with credentials is refused without quoting them.
	for _, a := range []string{"redis://:hunter2@redis.internal:6379", "guard:hunter2@redis.internal:6379"} {
		c := Config{Addresses: []string{a}}
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "without a scheme or credentials") {
			t.Errorf("%s: %v", a, err)
		}
	}
	c := Config{Addresses: []string{"127.0.0.1:6379"}}
	if err := c.Validate(); err != nil || c.Prefix != DefaultPrefix || c.Timeout != DefaultTimeout || c.Mode != ModeSingle {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var changes []bool
	b := newBreaker(2, breakerCoolDown, func(open bool) { changes = append(changes, open) })
	b.now = func() time.Time { return now }
	p, ok := b.allow()
	b.record(p, true)
	if !ok || b.isOpen() {
		t.Fatal("opened after one failure")
	}
	p, _ = b.allow()
	b.record(p, true)
	if !b.isOpen() {
		t.Fatal("not open after two failures")
	}
	if _, ok := b.allow(); ok {
		t.Fatal("open breaker let a call through")
	}
	now = now.Add(breakerCoolDown)
	p, ok = b.allow()
	if !ok || !p {
		t.Fatal("no probe after the cool-down")
	}
	if _, ok := b.allow(); ok {
		t.Fatal("second call during the probe")
	}
	b.record(p, false)
	if b.isOpen() || len(changes) != 2 || !changes[0] || changes[1] {
		t.Fatalf("after a good probe: open=%v changes=%v", b.isOpen(), changes)
	}
}

func TestVersionSupported(t *testing.T) {
	for info, ok := range map[string]bool{
		"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n": true,
		"# Server\r\nredis_version:8.2.1\r\n":                           true,
		"# Server\r\nredis_version:6.2.14\r\n":                          false,
		"# Server\r\nredis_version:5.0.7\r\n":                           false,
		"# Server\r\nvalkey_version:8.0.1\r\n":                          true, // no redis_version: not refused
	} {
		if err := versionSupported(info); (err == nil) != ok {
			t.Errorf("%q: %v", info, err)
		}
	}
}
