package app

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/clients/smartid"
)

// TestSmartIDLinger: unset is the client's default window, `linger 0`
// turns the window off (the client reads a negative value as none, and a
// zero as its default), a value is passed as it is, and a JSON value out
// of 0s..100ms is refused at load, naming the option.
func TestSmartIDLinger(t *testing.T) {
	dur := func(d time.Duration) *caddy.Duration { v := caddy.Duration(d); return &v }
	cases := []struct {
		name    string
		linger  *caddy.Duration
		want    time.Duration
		wantErr string
	}{
		{"unset", nil, smartid.DefaultLinger, ""},
		{"zero", dur(0), -1, ""},
		{"set", dur(20 * time.Millisecond), 20 * time.Millisecond, ""},
		{"most", dur(smartid.MaxLinger), smartid.MaxLinger, ""},
		{"too long", dur(time.Second), 0, "linger must be from 0 to 100ms, not 1s"},
		{"negative", dur(-time.Millisecond), 0, "linger must be from 0 to 100ms, not -1ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &SmartIDConfig{Endpoint: "https://smartid.example.com", License: "k", Channel: "1", Linger: c.linger}
			err := cfg.provision()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want %q, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.clientConfig(nil).Linger; got != c.want {
				t.Fatalf("client linger %v, want %v", got, c.want)
			}
		})
	}
	// A changed window is another queue: the pool key says so.
	a := &SmartIDConfig{Endpoint: "https://smartid.example.com", License: "k", Channel: "1"}
	b := &SmartIDConfig{Endpoint: "https://smartid.example.com", License: "k", Channel: "1", Linger: dur(0)}
	if a.provision() != nil || b.provision() != nil || a.poolKey() == b.poolKey() {
		t.Fatal("the linger window is not part of the queue's pool key")
	}
}

// TestSmartIDProvisionBounds: a JSON smartid block is held to the
// Caddyfile's ranges (queue_size 1-1048576, workers 1-256) and its license
// to the client's rule when the config loads, not when the queue starts
// (a huge queue_size would allocate it).
func TestSmartIDProvisionBounds(t *testing.T) {
	cases := []struct {
		name    string
		modify  func(*SmartIDConfig)
		wantErr string
	}{
		{"most", func(c *SmartIDConfig) { c.QueueSize, c.Workers = smartid.MaxQueueSize, smartid.MaxWorkers }, ""},
		{"queue_size too large", func(c *SmartIDConfig) { c.QueueSize = 2_000_000_000 }, "queue size must be at most 1048576"},
		{"workers too many", func(c *SmartIDConfig) { c.Workers = 257 }, "workers must be at most 256"},
		{"license with a space", func(c *SmartIDConfig) { c.License = "abc def" }, "license contains characters not allowed in an HTTP header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &SmartIDConfig{Endpoint: "https://smartid.example.com", License: "k", Channel: "1"}
			c.modify(cfg)
			err := cfg.provision()
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("want %q, got %v", c.wantErr, err)
			}
			if err != nil && strings.Contains(err.Error(), "abc def") {
				t.Fatalf("the error quotes the license: %v", err)
			}
		})
	}
}
