package savedpool

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/login-guard/login_guard/internal/expiry"
)

func testKind(key, dir string) Kind {
	return Kind{Key: key, What: "test entries", Dir: dir, Every: time.Hour, Timeout: 5 * time.Second}
}

func newSet() *expiry.Set { return expiry.NewSet(100, expiry.Refuse, "LGTEST01") }

// TestKindsKeptApart: two kinds sharing a storage keep their own sets and
// files, and each outlives its process (a restart) through its own
// directory.
func TestKindsKeptApart(t *testing.T) {
	ownDataDir(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	now := time.Now()
	a := Acquire(testKind("test.a", "test/a"), newSet, 100, st, zap.NewNop())
	b := Acquire(testKind("test.b", "test/b"), newSet, 100, st, zap.NewNop())
	a.WaitRead()
	b.WaitRead()
	if a.Set() == b.Set() || !a.Loaded() || !b.Loaded() {
		t.Fatal("two kinds share a set, or a set on a readable storage is not loaded")
	}
	_, _ = a.Set().Add(expiry.Key("x"), now.Add(time.Hour).UnixNano(), now.UnixNano())
	again := Acquire(testKind("test.a", "test/a"), newSet, 100, st, zap.NewNop())
	if again.Set() != a.Set() || References("test.a") != 2 {
		t.Fatalf("a second hold on a kind got another set (%d holds)", References("test.a"))
	}
	again.Release()
	a.Release()
	b.Release()
	if References("test.a") != 0 || References("test.b") != 0 {
		t.Fatal("a released set is still held")
	}
	for dir, want := range map[string]int{"test/a": 1, "test/b": 1} {
		if keys, _ := st.List(context.Background(), dir, false); len(keys) != want {
			t.Errorf("%s holds %v, want %d file(s)", dir, keys, want)
		}
	}
	restarted := Acquire(testKind("test.a", "test/a"), newSet, 100, st, zap.NewNop())
	restarted.WaitRead()
	defer restarted.Release()
	if restarted.Set() == a.Set() || !restarted.Set().Has(expiry.Key("x"), now.UnixNano()) {
		t.Fatal("an entry saved before a restart is not read back after it")
	}
	other := Acquire(testKind("test.b", "test/b"), newSet, 100, st, zap.NewNop())
	other.WaitRead()
	defer other.Release()
	if other.Set().Has(expiry.Key("x"), now.UnixNano()) {
		t.Fatal("another kind read an entry it never held")
	}
}

// TestNoStorageNothingSaved: without storage a set is loaded at once and
// syncs are no-ops.
func TestNoStorageNothingSaved(t *testing.T) {
	h := Acquire(testKind("test.none", "test/none"), newSet, 100, nil, zap.NewNop())
	defer h.Release()
	if !h.Loaded() || !h.Sync() {
		t.Fatal("a set without storage is not ready")
	}
	h.Stopping()
}
