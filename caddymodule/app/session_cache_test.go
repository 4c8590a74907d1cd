package app

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/login-guard/login_guard/internal/tokens"
)

func testKeyset(t *testing.T) *tokens.Keyset {
	t.Helper()
	st, err := tokens.NewStored(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ks, err := tokens.NewKeyset(st)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestSessionCacheNeverOutlivesItsToken(t *testing.T) {
	sc := newSessionCache()
	defer sc.close()
	ks := testKeyset(t)
	now := time.Now()
	exp := now.Add(time.Minute).Unix()
	sc.putOpened(ks, "tok", Session{User: "u", Session: "s"}, exp, now)
	if s, until, ok := sc.get(ks, "tok", now.Add(30*time.Second)); !ok || s.User != "u" || until.Unix() != exp {
		t.Fatalf("fresh entry: %v %v %v", s, until, ok)
	}
	if _, _, ok := sc.get(ks, "tok", time.Unix(exp, 0)); ok {
		t.Fatal("an entry must not be served once its token expired")
	}
	sc.putOpened(ks, "old", Session{User: "u"}, now.Unix(), now)
	if _, _, ok := sc.get(ks, "old", now); ok {
		t.Fatal("an expired token is not cached")
	}
	var nilCache *sessionCache
	nilCache.putOpened(ks, "tok", Session{}, exp, now)
	if _, _, ok := nilCache.get(ks, "tok", now); ok {
		t.Fatal("no cache, no hit")
	}
}

// TestSessionCacheOnlyItsKeyset: an entry is served only under the keyset
// that sealed or opened its token; after a rotation the token is opened
// again (and refused if its key is gone).
func TestSessionCacheOnlyItsKeyset(t *testing.T) {
	sc := newSessionCache()
	defer sc.close()
	ks, other := testKeyset(t), testKeyset(t)
	now := time.Now()
	sc.putOpened(ks, "tok", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	if _, _, ok := sc.get(other, "tok", now); ok {
		t.Fatal("an entry was served under another keyset")
	}
	if _, _, ok := sc.get(ks, "tok", now); !ok {
		t.Fatal("the entry is lost")
	}
}

// TestSessionCacheMatchesWholeToken: only the exact token text hits; a
// token differing in one byte, a prefix or an extension does not.
func TestSessionCacheMatchesWholeToken(t *testing.T) {
	sc := newSessionCache()
	defer sc.close()
	ks := testKeyset(t)
	now := time.Now()
	tok := "AgRrMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	sc.putOpened(ks, tok, Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	for _, forged := range []string{tok[:len(tok)-1] + "B", tok[:len(tok)-1], tok + "A", strings.ToLower(tok), ""} {
		if _, _, ok := sc.get(ks, forged, now); ok {
			t.Fatalf("%q hit the entry of %q", forged, tok)
		}
	}
}

// TestSessionCacheBounded: however many tokens are put, the cache holds at
// most sessionCacheEntries, and the newest ones.
func TestSessionCacheBounded(t *testing.T) {
	sc := newSessionCache()
	defer sc.close()
	ks := testKeyset(t)
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	const n = 3 * sessionCacheEntries
	for i := range n {
		sc.putOpened(ks, "tok"+strconv.Itoa(i), Session{User: "u"}, exp, now)
	}
	held := 0
	for i := range sc.shards {
		held += len(sc.shards[i].cur) + len(sc.shards[i].prev)
	}
	if held > sessionCacheEntries || held < sessionCacheEntries/2 {
		t.Fatalf("%d entries held, bound %d", held, sessionCacheEntries)
	}
	if _, _, ok := sc.get(ks, "tok"+strconv.Itoa(n-1), now); !ok {
		t.Fatal("the newest entry was dropped")
	}
	if _, _, ok := sc.get(ks, "tok0", now); ok {
		t.Fatal("the oldest entry is still held")
	}
	long := strings.Repeat("x", maxCachedEntryText)
	sc.putOpened(ks, long, Session{User: "u"}, exp, now)
	if _, _, ok := sc.get(ks, long, now); ok {
		t.Fatal("an entry over maxCachedEntryText was cached")
	}
}

// TestSessionCacheOwnsItsStrings: an entry keeps none of the caller's
// memory alive (the user of a login points into its body, which holds the
// password).
func TestSessionCacheOwnsItsStrings(t *testing.T) {
	sc := newSessionCache()
	defer sc.close()
	ks := testKeyset(t)
	now := time.Now()
	body := "username=jlopez&password=secret"
	user := body[len("username=") : len("username=")+len("jlopez")]
	tok := []byte("AgRrMQtoken")
	sc.putSealed(ks, tok, Session{User: user, Session: "s1"}, now.Add(time.Hour).Unix(), now)
	tok[0] = 'X' // the caller's buffer is reused
	s, _, ok := sc.get(ks, "AgRrMQtoken", now)
	if !ok || s.User != "jlopez" || s.Session != "s1" {
		t.Fatalf("got %+v %v", s, ok)
	}
	bodyStart, bodyEnd := uintptr(unsafe.Pointer(unsafe.StringData(body))), uintptr(unsafe.Pointer(unsafe.StringData(body)))+uintptr(len(body))
	if p := uintptr(unsafe.Pointer(unsafe.StringData(s.User))); p >= bodyStart && p < bodyEnd {
		t.Fatal("the cached user points into the request body")
	}
}

// TestSessionCacheClosed: after close nothing is served or kept, and a
// late request does not panic.
func TestSessionCacheClosed(t *testing.T) {
	sc := newSessionCache()
	ks := testKeyset(t)
	now := time.Now()
	sc.putOpened(ks, "tok", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	sc.close()
	sc.putOpened(ks, "tok2", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	if _, _, ok := sc.get(ks, "tok", now); ok {
		t.Fatal("served after close")
	}
}

// TestSealedSessionServedFromCache: a session cookie the guard sealed is
// in the cache, with exactly what opening the token gives (session and
// expiry); a logout of it is then known without decryption, a tampered
// copy is not, and once revoked the cached entry is no session either.
func TestSealedSessionServedFromCache(t *testing.T) {
	ks := testKeyset(t)
	a := Standalone(ks, time.Hour)
	defer func() { _ = a.Stop(); _ = a.Cleanup() }()
	now := time.Now()
	want := Session{User: "jlopez", Session: "s1", LoginAt: now.Unix(), SteppedUp: true}
	tok, _, err := a.AppendSealSession([]byte("login_guard="), want, now)
	if err != nil {
		t.Fatal(err)
	}
	token := string(tok[len("login_guard="):])
	cached, cachedExp, ok := a.rt.sessions.get(ks, token, now)
	if !ok {
		t.Fatal("a sealed session is not in the cache")
	}
	var opened Session
	openedExp, err := ks.OpenUntil(sessionPurpose, token, now, &opened)
	if err != nil || cached != opened || cached != want || !cachedExp.Equal(openedExp) {
		t.Fatalf("cached %+v until %v, opened %+v until %v (%v)", cached, cachedExp, opened, openedExp, err)
	}
	ctx := context.Background()
	if s, exp, ok := a.OpenEndingSession(ctx, token, now); !ok || s != want || !exp.Equal(openedExp) {
		t.Fatalf("logout: %+v %v %v", s, exp, ok)
	}
	tampered := []byte(token)
	tampered[len(tampered)-5] ^= 'A' ^ 'B'
	if _, _, ok := a.OpenEndingSession(ctx, string(tampered), now); ok {
		t.Fatal("a tampered token was taken as a session")
	}
	if err := a.RevokeSession(ctx, want.Session, openedExp, now); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := a.OpenSession(ctx, token, now); ok {
		t.Fatal("a revoked session served from the cache counts")
	}
}

// TestSessionCacheShardsEvenly: the tokens the guard seals spread over the
// shards (each shard's generations are bounded on their own, so a skew
// would shrink the cache).
func TestSessionCacheShardsEvenly(t *testing.T) {
	ks := testKeyset(t)
	a := Standalone(ks, time.Hour)
	defer func() { _ = a.Stop(); _ = a.Cleanup() }()
	now := time.Now()
	const n = 8 * sessionCacheShards * 100
	for i := range n {
		if _, _, err := a.AppendSealSession(nil, Session{User: "u", Session: "s" + strconv.Itoa(i)}, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range a.rt.sessions.shards {
		sh := &a.rt.sessions.shards[i]
		if got := len(sh.cur) + len(sh.prev); got < n/sessionCacheShards*3/4 {
			t.Errorf("shard %d holds %d of %d tokens", i, got, n)
		}
	}
}
