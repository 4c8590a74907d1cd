package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	"go.uber.org/zap"

	_ "github.com/login-guard/login_guard/caddymodule/engines/sandbox"
	"github.com/login-guard/login_guard/caddymodule/savedpool"
	"github.com/login-guard/login_guard/clients/loginid"
)

// appOnlyConfig is a Caddy config with the login_guard app alone (no
// admin endpoint, storage in a test directory) and the given app JSON.
func appOnlyConfig(t *testing.T, appJSON string) *caddy.Config {
	t.Helper()
	raw := fmt.Sprintf(`{"admin":{"disabled":true},"storage":{"module":"file_system","root":%q},"apps":{"login_guard":%s}}`, t.TempDir(), appJSON)
	var c caddy.Config
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestLoginIDCacheReleasedWhenVerifierFails: a verifier that failed to
// build (a trust_pem that cannot be read) leaves no replay set held.
func TestLoginIDCacheReleasedWhenVerifierFails(t *testing.T) {
	err := caddy.Validate(appOnlyConfig(t, `{"loginid":{"mode":"pem","region":"us","client_id":"pool-release-test","trust_pem":"/nonexistent/roots.pem"}}`))
	if err == nil || !strings.Contains(err.Error(), "trust_pem") {
		t.Fatalf("want the trust_pem refused: %v", err)
	}
	if n := savedpool.References(savedpool.LoginIDUsedKind.Key); n != 0 {
		t.Fatalf("replay set still referenced %d times after the failed load", n)
	}
}

// TestRevocationsReleasedAfterFailedStart: a Start that failed after it
// took the revocation set (a later pool refusing, say) leaves the app not
// started; Caddy then cleans it up without stopping it, and Cleanup gives
// the set back.
func TestRevocationsReleasedAfterFailedStart(t *testing.T) {
	a := &App{Session: &SessionConfig{MaxRevocations: 1234}, rt: &appRuntime{life: newLifecycle()}}
	a.rt.revocations = savedpool.AcquireRevocations(1234, nil, zap.NewNop())
	a.rt.revoked = a.rt.revocations
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := savedpool.References(savedpool.RevocationsKind.Key); n != 0 {
		t.Fatalf("revocation set still referenced %d times after Cleanup", n)
	}
}

// TestLoginIDVerifierOutlivesRelease: a request the config's release
// outlived still finds a verifier, which says it is closed (a retryable
// failure: on_assertion_unverifiable decides), instead of a nil one.
func TestLoginIDVerifierOutlivesRelease(t *testing.T) {
	if err := caddy.Run(appOnlyConfig(t, `{"loginid":{"mode":"pem","region":"us","client_id":"outlives-release-test"}}`)); err != nil {
		t.Fatal(err)
	}
	v, err := caddy.ActiveContext().App("login_guard")
	if err != nil {
		t.Fatal(err)
	}
	a := v.(*App)
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	ver := a.LoginIDVerifier()
	if ver == nil {
		t.Fatal("the verifier is gone after the release")
	}
	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"ES256","kid":"k1"}`)) + "." + enc([]byte(`{}`)) + "." + enc(make([]byte, 64))
	_, err = ver.Verify(context.Background(), token, "alice", netip.MustParseAddr("192.0.2.1"))
	var le *loginid.Error
	if !errors.As(err, &le) || le.Sub != loginid.SubClosed || !le.Retryable() {
		t.Fatalf("want a retryable closed error, got %v", err)
	}
	if n := savedpool.References(savedpool.LoginIDUsedKind.Key); n != 0 {
		t.Fatalf("replay cache still referenced %d times after the release", n)
	}
}

// TestRedisPoolKeyHoldsNoPassword: the Redis connection's pool key, which
// other pool keys are built from, is a hash of its config, not the config
// with its passwords.
func TestRedisPoolKeyHoldsNoPassword(t *testing.T) {
	a := &App{Store: &StoreConfig{Redis: &RedisStoreConfig{Addresses: []string{"127.0.0.1:1"}, Password: "hunter2-secret"}}, logger: zap.NewNop()}
	if err := a.provisionStore(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	defer a.releaseStore()
	if a.redisKey == "" || strings.Contains(a.redisKey, "hunter2") || strings.Contains(a.redisKey, "127.0.0.1") {
		t.Fatalf("pool key %q", a.redisKey)
	}
}
