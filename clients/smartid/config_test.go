package smartid

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	valid := Config{Endpoint: "https://smartid.example.com", License: testLicense}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint"},
		{"relative endpoint", func(c *Config) { c.Endpoint = "/api" }, "absolute"},
		{"host only", func(c *Config) { c.Endpoint = "smartid.example.com" }, "absolute"},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://smartid.example.com" }, "absolute"},
		{"credentials in endpoint", func(c *Config) { c.Endpoint = "https://u:" + testLicense + "@smartid.example.com" }, "credentials"},
		{"query in endpoint", func(c *Config) { c.Endpoint = "https://smartid.example.com/?key=" + testLicense }, "query"},
		{"fragment in endpoint", func(c *Config) { c.Endpoint = "https://smartid.example.com/#x" }, "fragment"},
		{"unparsable endpoint", func(c *Config) { c.Endpoint = "https://smartid.example.com/%zz" + testLicense }, "valid URL"},
		{"no license", func(c *Config) { c.License = "" }, "license is required"},
		{"license with a newline", func(c *Config) { c.License = testLicense + "\nX-Evil: 1" }, "license contains"},
		{"unknown environment", func(c *Config) { c.Environment = "staging" }, "environment"},
		{"unknown channel kind", func(c *Config) { c.ChannelKind = "tv" }, "channel kind"},
		{"negative channel id", func(c *Config) { c.ChannelID = -1 }, "channel id"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }, "queue size"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers"},
		{"queue above its bound", func(c *Config) { c.QueueSize = 2_000_000_000 }, "queue size must be at most 1048576"},
		{"workers above their bound", func(c *Config) { c.Workers = MaxWorkers + 1 }, "workers must be at most 256"},
		{"license with a space", func(c *Config) { c.License = "abc def" }, "license contains"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "max attempts"},
		{"negative event size", func(c *Config) { c.MaxEventBytes = -1 }, "max event bytes"},
		{"linger above its bound", func(c *Config) { c.Linger = MaxLinger + time.Millisecond }, "linger must not exceed"},
		{"backoff max below base", func(c *Config) { c.BackoffBase = time.Second; c.BackoffMax = time.Millisecond }, "backoff max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			// Validate, the loader's check, refuses what New refuses.
			if verr := cfg.Validate(); verr == nil || !strings.Contains(verr.Error(), tt.want) {
				t.Errorf("Validate: %v, want an error mentioning %q", verr, tt.want)
			}
			c, err := New(cfg)
			if err == nil {
				_ = c.Close(context.Background())
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testLicense) {
				t.Errorf("error %q contains the license", err)
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	c, err := New(Config{Endpoint: "http://127.0.0.1:1", License: testLicense})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	got := c.cfg
	want := Config{Endpoint: got.Endpoint, License: testLicense, Environment: Production, ChannelKind: ChannelWeb,
		Timeout: 5 * time.Second, QueueSize: 1024, Workers: 4, MaxAttempts: 4,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 5 * time.Second, MaxEventBytes: 64 << 10, Linger: 20 * time.Millisecond}
	got.Sleep = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %+v\nwant       %+v", got, want)
	}
	if tr := c.http.Transport.(*http.Transport); tr.MaxIdleConnsPerHost < got.Workers {
		t.Errorf("MaxIdleConnsPerHost = %d, want at least %d workers", tr.MaxIdleConnsPerHost, got.Workers)
	}
	if s := c.Stats(); s.QueueCapacity != 1024 {
		t.Errorf("queue capacity = %d", s.QueueCapacity)
	}
}

func TestURLJoin(t *testing.T) {
	tests := []struct {
		endpoint string
		env      Environment
		ch       ChannelKind
		kind     EventKind
		want     string
	}{
		{"https://s.example.com", Production, ChannelWeb, KindLogin, "https://s.example.com/api/v5/analytics/web/login"},
		{"https://s.example.com/", Production, ChannelWeb, KindLogout, "https://s.example.com/api/v5/analytics/web/logout"},
		{"https://s.example.com/base", Dev, ChannelApp, KindOperation, "https://s.example.com/base/api-dev/v5/analytics/app/operation"},
		{"https://s.example.com/base/", Dev, ChannelWeb, KindOperation, "https://s.example.com/base/api-dev/v5/analytics/web/operation"},
		{"http://127.0.0.1:8080/a/b//", Production, ChannelApp, KindLogin, "http://127.0.0.1:8080/a/b/api/v5/analytics/app/login"},
	}
	for _, tt := range tests {
		u, err := parseEndpoint(tt.endpoint)
		if err != nil {
			t.Fatalf("%s: %v", tt.endpoint, err)
		}
		c := &Client{urls: buildURLs(u, tt.env)}
		if got := c.url(tt.ch, tt.kind); got != tt.want {
			t.Errorf("%s %s %s %s = %s, want %s", tt.endpoint, tt.env, tt.ch, tt.kind, got, tt.want)
		}
	}
}

// TestPlainHTTPOnlyToTheLoopback: the license goes in every request's
// Authorization header, so a plain http endpoint is refused unless it is
// this machine's loopback (a local forwarder, a test).
func TestPlainHTTPOnlyToTheLoopback(t *testing.T) {
	for _, ok := range []string{"https://smartid.example.com", "http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:81/x", "http://localhost:9000", "HTTP://localhost"} {
		if err := CheckEndpoint(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://smartid.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]", "http://localhost.example.com", "http://127.0.0.1.nip.io"} {
		err := CheckEndpoint(bad)
		if err == nil || !strings.Contains(err.Error(), "plain http would send the license in the clear") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
