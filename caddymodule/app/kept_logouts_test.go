package app

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/login-guard/login_guard/internal/redisstore"
)

// unreachable is a Redis connection that never answers: the logouts its
// revocation set is given stay kept.
func unreachable(t *testing.T) (*redisstore.Conn, *redisstore.RevokeSet) {
	t.Helper()
	conn, err := redisstore.New(redisstore.Config{Addresses: []string{"127.0.0.1:1"}, Timeout: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, redisstore.NewRevokeSet(conn)
}

// TestKeptLogoutsSavedAndRestored: what a closing Redis connection hands
// on with no other config running is saved in Caddy's storage, in its
// store's directory, one file a hand-off; a start takes every file of its
// store back into its revocation set (unexpired logouts only) and deletes
// it. A file it cannot read is logged and left for later, without failing
// the start; another store's files, and a save still being written (an
// atomic write's temporary file), are not touched.
func TestKeptLogoutsSavedAndRestored(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	now := time.Now()
	cfg := redisstore.Config{Addresses: []string{"10.0.0.2:6379", "10.0.0.1:6379"}, Prefix: "lg"}
	dir := path.Join(keptLogoutsPrefix, storeIdentity(cfg))
	other := path.Join(keptLogoutsPrefix, storeIdentity(redisstore.Config{Addresses: cfg.Addresses, Prefix: "other"}))
	if dir == other || storeIdentity(cfg) != storeIdentity(redisstore.Config{Addresses: []string{"10.0.0.1:6379", "10.0.0.2:6379"}, Prefix: "lg", Timeout: time.Second}) {
		t.Fatal("a store's identity is its addresses, in any order, and its prefix, not its timeout")
	}
	_, closing := unreachable(t)
	handOff := handOffKept(closing, st, dir, zap.NewNop())
	if err := handOff([]redisstore.KeptLogout{{ID: "s1", Until: now.Add(time.Hour)}, {ID: "s2", Until: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := handOff([]redisstore.KeptLogout{{ID: "s3", Until: now.Add(time.Hour)}, {ID: "gone", Until: now.Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	for key, v := range map[string]string{
		dir + "/0-junk.json": "not json",
		dir + "/tmp123":      `[{"id":"partial","until":"2999-01-01T00:00:00Z"}]`,
		other + "/1-x.json":  `[{"id":"elsewhere","until":"2999-01-01T00:00:00Z"}]`,
	} {
		if err := st.Store(ctx, key, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}

	conn, rs := unreachable(t)
	core, logs := observer.New(zap.InfoLevel)
	restoreKeptLogouts(st, dir, rs, zap.New(core))
	if n := conn.Stats().LogoutsKept; n != 3 {
		t.Fatalf("%d logouts kept after the restore, want the 3 unexpired", n)
	}
	for id, want := range map[string]bool{"s1": true, "s2": true, "s3": true, "partial": false, "elsewhere": false} {
		if revoked, _ := rs.Revoked(ctx, id, time.Now()); revoked != want {
			t.Fatalf("%s refused = %v, want %v", id, revoked, want)
		}
	}
	keys, _ := st.List(ctx, dir, false)
	left := strings.Join(keys, " ")
	if len(keys) != 2 || !strings.Contains(left, "0-junk.json") || !strings.Contains(left, "tmp123") {
		t.Fatalf("left in the store's directory: %v, want the unreadable file and the temporary one", keys)
	}
	if keys, _ := st.List(ctx, other, false); len(keys) != 1 {
		t.Fatalf("another store's files: %v", keys)
	}
	if logs.FilterMessage("could not restore logouts saved through a redis outage").Len() != 1 ||
		logs.FilterMessage("logouts saved through a redis outage restored: refused here, sent to redis once it takes them").Len() != 1 {
		t.Fatalf("log lines: %v", logs.All())
	}
}

// TestKeptLogoutsHandedToTheRunningConfig: a connection closing while
// another config with a Redis store runs (a reload that changed the
// store block: Caddy starts the new config before it stops the old) hands
// its kept logouts to that config's set, which refuses their cookies at
// once and sends them; nothing goes to storage, which the new config read
// before the old one closed.
func TestKeptLogoutsHandedToTheRunningConfig(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	dir := path.Join(keptLogoutsPrefix, "old-store")
	_, closing := unreachable(t)
	conn, running := unreachable(t)
	liveRevocations.Store(running)
	t.Cleanup(func() { liveRevocations.CompareAndSwap(running, nil) })
	now := time.Now()
	if err := handOffKept(closing, st, dir, zap.NewNop())([]redisstore.KeptLogout{{ID: "s1", Until: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if revoked, _ := running.Revoked(context.Background(), "s1", time.Now()); !revoked || conn.Stats().LogoutsKept != 1 {
		t.Fatal("the running config's set did not take the logout")
	}
	if keys, _ := st.List(context.Background(), dir, false); len(keys) != 0 {
		t.Fatalf("saved to storage as well: %v", keys)
	}
	// The running config's own connection, closing, saves to storage.
	if err := handOffKept(running, st, dir, zap.NewNop())([]redisstore.KeptLogout{{ID: "s2", Until: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.List(context.Background(), dir, false); len(keys) != 1 {
		t.Fatalf("a config's own logouts at its close: %v in storage, want one file", keys)
	}
}

// TestKeptLogoutsNotLostWhenNotRestored: a restore into a set that keeps
// no more (its connection closing, as when a restore outlasts its start
// and the config is released) saves the logouts again before deleting
// their file, so a later start still finds them.
func TestKeptLogoutsNotLostWhenNotRestored(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	dir := path.Join(keptLogoutsPrefix, "a-store")
	if err := saveKeptLogouts(st, dir, []redisstore.KeptLogout{{ID: "s1", Until: time.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	conn, rs := unreachable(t)
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	restoreKeptLogouts(st, dir, rs, zap.NewNop())
	keys, _ := st.List(ctx, dir, false)
	if len(keys) != 1 {
		t.Fatalf("files after a refused restore: %v, want the logouts saved again", keys)
	}
	_, fresh := unreachable(t)
	restoreKeptLogouts(st, dir, fresh, zap.NewNop())
	if revoked, _ := fresh.Revoked(ctx, "s1", time.Now()); !revoked {
		t.Fatal("the logout saved again was not restored by the next start")
	}
}
