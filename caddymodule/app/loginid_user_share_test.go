package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/login-guard/login_guard/clients/loginid"
	"github.com/login-guard/login_guard/internal/testkit/loginidfake"
)

// TestLoginIDOneUserCannotFillTheSavedReplaySet: the app's replay cache
// (the saved set of tokens already used) holds replay_cache_size tokens;
// one account minting fresh tokens for its own name must not fill it, or
// every other user's LoginID step-up is refused until the entries expire.
// Across a restart the tokens used stay replays; the users' shares start
// afresh (so for one token lifetime a user may hold twice theirs).
func TestLoginIDOneUserCannotFillTheSavedReplaySet(t *testing.T) {
	kh := loginidfake.New(t, "user-share-test")
	const size = 100
	app := fmt.Sprintf(`{"loginid":{"mode":"pem","key_url":%q,"client_id":%q,"trust_pem":%q,"replay_cache_size":%d}}`,
		kh.URL+"/certs", kh.Audience, kh.CAFile, size)
	raw := fmt.Sprintf(`{"admin":{"disabled":true},"storage":{"module":"file_system","root":%q},"apps":{"login_guard":%s}}`, t.TempDir(), app)
	start := func() *loginid.Verifier {
		t.Helper()
		var c caddy.Config
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Run(&c); err != nil {
			t.Fatal(err)
		}
		v, err := caddy.ActiveContext().App("login_guard")
		if err != nil {
			t.Fatal(err)
		}
		return v.(*App).LoginIDVerifier()
	}
	defer func() { _ = caddy.Stop() }()
	ctx, now := context.Background(), time.Now()
	client := netip.MustParseAddr("192.0.2.1")
	flood := func(ver *loginid.Verifier, round int) (accepted []string) {
		for i := range 2 * size {
			tok := kh.Mint(t, "mallory", "fido2_login", fmt.Sprint("flood-", round, "-", i), now)
			if _, err := ver.Verify(ctx, tok, "mallory", client); err == nil {
				accepted = append(accepted, tok)
			} else if loginid.SubReason(err) != loginid.SubReplayUserLimit {
				t.Fatalf("token %d of the flood: %v", i, err)
			}
		}
		return accepted
	}

	ver := start()
	used := flood(ver, 1)
	if len(used) >= size {
		t.Errorf("one user had %d of the set's %d entries", len(used), size)
	}
	alice := kh.Mint(t, "alice", "fido2_login", "alice-1", now)
	if _, err := ver.Verify(ctx, alice, "alice", client); err != nil {
		t.Fatalf("another user's token after one user's flood: %v", err)
	}

	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}
	ver = start()
	if _, err := ver.Verify(ctx, used[0], "mallory", client); loginid.SubReason(err) != loginid.SubReplayed {
		t.Fatalf("a token used before the restart: %v, want replayed", err)
	}
	if _, err := ver.Verify(ctx, alice, "alice", client); loginid.SubReason(err) != loginid.SubReplayed {
		t.Fatalf("alice's token used before the restart: %v, want replayed", err)
	}
	if again := flood(ver, 2); len(again) != loginid.DefaultReplayPerUser || len(used)+len(again) >= size {
		t.Fatalf("after the restart the user took %d more (before: %d, set: %d)", len(again), len(used), size)
	}
	if _, err := ver.Verify(ctx, kh.Mint(t, "alice", "fido2_login", "alice-2", now), "alice", client); err != nil {
		t.Fatalf("another user's token after the restart: %v", err)
	}
}
