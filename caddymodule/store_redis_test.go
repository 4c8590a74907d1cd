package caddymodule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

func TestStoreRedisOption(t *testing.T) {
	cfg := "{\n login_guard {\n  store redis {\n   mode cluster\n   address 10.0.0.1:6379 10.0.0.2:6379\n   username guard\n   password {env.REDIS_PASSWORD}\n   tls {\n    server_name redis.internal\n   }\n   prefix lg:\n   timeout 150ms\n   pool_size 50\n  }\n }\n}\n:8080 {\n respond ok\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Apps struct {
			LoginGuard struct {
				Store struct {
					Redis map[string]any `json:"redis"`
				} `json:"store"`
			} `json:"login_guard"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Apps.LoginGuard.Store.Redis
	want := map[string]any{
		"mode": "cluster", "addresses": []any{"10.0.0.1:6379", "10.0.0.2:6379"}, "username": "guard",
		"password": "{env.REDIS_PASSWORD}", "tls": map[string]any{"server_name": "redis.internal"},
		"prefix": "lg:", "timeout": float64(150e6), "pool_size": float64(50),
	}
	got, _ := json.Marshal(r)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Fatalf("store redis JSON\n got %s\nwant %s", got, exp)
	}
}

func TestStoreRedisOptionErrors(t *testing.T) {
	cases := []struct{ name, global, want string }{
		{"db in cluster", "login_guard {\n  store redis {\n   mode cluster\n   address a:1\n   db 2\n  }\n}", "Caddyfile:6: db is not available in cluster mode"},
		{"cluster after db", "login_guard {\n  store redis {\n   db 2\n   mode cluster\n  }\n}", "Caddyfile:5: db is not available in cluster mode"},
		{"unknown store", "login_guard {\n  store memcached\n}", "Caddyfile:3: unknown store \"memcached\""},
		{"no address", "login_guard {\n  store redis {\n   db 1\n  }\n}", "at least one address is required"},
		{"bad mode", "login_guard {\n  store redis {\n   mode ring\n  }\n}", "Caddyfile:4: \"ring\" is not one of single, sentinel, cluster"},
		{"unknown option", "login_guard {\n  store redis {\n   address a:1\n   retries 3\n  }\n}", "Caddyfile:5: store redis: unknown option \"retries\""},
		{"twice", "login_guard {\n  store redis {\n   address a:1\n  }\n  store redis {\n   address a:1\n  }\n}", "store given twice"},
		{"sentinel without master", "login_guard {\n  store redis {\n   mode sentinel\n   address a:26379\n  }\n}", "sentinel mode needs master_name"},
		{"prefix with brace", "login_guard {\n  store redis {\n   address a:1\n   prefix a{b}\n  }\n}", "braces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "{\n " + c.global + "\n}\n:8080 {\n respond ok\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
			checkAdaptErr(t, err, c.want)
		})
	}
}

// TestStoreRedisValidate: `caddy validate` provisions without connecting,
// and refuses rules_store next to store redis.
func TestStoreRedisValidate(t *testing.T) {
	validate := func(global string) error {
		cfg := "{\n login_guard {\n" + global + "\n }\n}\n:8080 {\n login_guard /login {\n  event login\n  rate ip 5/1m deny\n  on_store_failure allow\n }\n respond ok\n}\n"
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
		if err != nil {
			return err
		}
		var c caddy.Config
		if err := json.Unmarshal(out, &c); err != nil {
			t.Fatal(err)
		}
		return caddy.Validate(&c)
	}
	// Nothing listens on this address: validation must not try it.
	if err := validate("  store redis {\n   address 127.0.0.1:1\n  }"); err != nil {
		t.Fatalf("valid store redis refused: %v", err)
	}
	err := validate("  store redis {\n   address 127.0.0.1:1\n  }\n  rules_store {\n   max_keys 1000\n  }")
	if err == nil || !strings.Contains(err.Error(), "remove rules_store") {
		t.Fatalf("rules_store with store redis: %v", err)
	}
}

// TestStoreRedisPlaceholdersAtLoad: `caddy adapt` (a build machine, CI)
// does not have the environment the config runs in, so a value holding a
// placeholder is checked when the config loads, not when it is adapted
// (an unset {env.*} used to be refused there as an empty address).
func TestStoreRedisPlaceholdersAtLoad(t *testing.T) {
	const addrVar, prefixVar = "LOGIN_GUARD_TEST_REDIS_ADDR", "LOGIN_GUARD_TEST_REDIS_PREFIX"
	t.Setenv(addrVar, "")
	t.Setenv(prefixVar, "")
	cfg := "{\n login_guard {\n  store redis {\n   address {env." + addrVar + "}\n   prefix {env." + prefixVar + "}\n  }\n }\n}\n:8080 {\n login_guard /login {\n  event login\n  rate ip 5/1m deny\n  on_store_failure allow\n }\n respond ok\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapt refused placeholders it cannot know yet: %v", err)
	}
	if !strings.Contains(string(out), `"addresses":["{env.`+addrVar+`}"]`) {
		t.Fatalf("the placeholder was not kept for load time: %s", out)
	}
	validate := func() error {
		var c caddy.Config
		if err := json.Unmarshal(out, &c); err != nil {
			t.Fatal(err)
		}
		return caddy.Validate(&c)
	}
	// Loaded where the variable is empty: refused then, naming it (an
	// empty prefix would otherwise fall back to the default one, shared
	// with every other deployment on that Redis).
	if err := validate(); err == nil || !strings.Contains(err.Error(), `store redis: evaluated placeholder {env.`) ||
		!strings.Contains(err.Error(), "is empty (is the environment variable set?)") {
		t.Fatalf("empty address at load: %v", err)
	}
	t.Setenv(addrVar, "127.0.0.1:1")
	if err := validate(); err == nil || !strings.Contains(err.Error(), `{env.`+prefixVar+`} is empty`) {
		t.Fatalf("empty prefix at load: %v", err)
	}
	// Loaded where it is set: the resolved values are checked.
	t.Setenv(addrVar, "127.0.0.1:1")
	t.Setenv(prefixVar, "lg{x}")
	if err := validate(); err == nil || !strings.Contains(err.Error(), "braces") {
		t.Fatalf("resolved prefix with braces: %v", err)
	}
	t.Setenv(prefixVar, "lg:")
	if err := validate(); err != nil {
		t.Fatalf("resolved config refused: %v", err)
	}
}

// TestStoreRedisRefusalHidesCredentials: a refusal at load names the
// placeholders it resolved, but never a credential's.
func TestStoreRedisRefusalHidesCredentials(t *testing.T) {
	t.Setenv("LOGIN_GUARD_TEST_REDIS_ADDR", "redis.internal")
	t.Setenv("LOGIN_GUARD_TEST_REDIS_USER", "guard-user")
	t.Setenv("LOGIN_GUARD_TEST_REDIS_PASSWORD", "hunter2-secret")
	cfg := "{\n login_guard {\n  store redis {\n   address {env.LOGIN_GUARD_TEST_REDIS_ADDR}\n   username {env.LOGIN_GUARD_TEST_REDIS_USER}\n   password {env.LOGIN_GUARD_TEST_REDIS_PASSWORD}\n  }\n }\n}\n:8080 {\n respond ok\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	var c caddy.Config
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	err = caddy.Validate(&c)
	if err == nil || !strings.Contains(err.Error(), `{env.LOGIN_GUARD_TEST_REDIS_ADDR} is "redis.internal"`) ||
		strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "guard-user") {
		t.Fatalf("want the address's placeholder named and no credential: %v", err)
	}
	// An address given as a URL with its password is refused without
	// showing it.
	t.Setenv("LOGIN_GUARD_TEST_REDIS_ADDR", "redis://:hunter2@redis.internal:6379")
	err = caddy.Validate(&c)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "without a scheme or credentials") {
		t.Fatalf("want a URL address refused without its password: %v", err)
	}
}
