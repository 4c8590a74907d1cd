package sessioncache

import (
	"hash/maphash"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/login-guard/login_guard/internal/testkit/testkeys"
	"github.com/login-guard/login_guard/internal/tokens"
)

func TestSessionCacheNeverOutlivesItsToken(t *testing.T) {
	c, ks, now := newTestCache(t)
	exp := now.Add(time.Minute).Unix()
	c.PutOpened(ks, "tok", Session{User: "u", ID: "s"}, exp, now)
	if s, until, ok := c.Get(ks, "tok", now.Add(30*time.Second)); !ok || s.User != "u" || until.Unix() != exp {
		t.Fatalf("fresh entry: %v %v %v", s, until, ok)
	}
	if _, _, ok := c.Get(ks, "tok", time.Unix(exp, 0)); ok {
		t.Fatal("an entry must not be served once its token expired")
	}
	c.PutOpened(ks, "old", Session{User: "u"}, now.Unix(), now)
	if _, _, ok := c.Get(ks, "old", now); ok {
		t.Fatal("an expired token is not cached")
	}
	var nilCache *Cache
	nilCache.PutOpened(ks, "tok", Session{}, exp, now)
	if _, _, ok := nilCache.Get(ks, "tok", now); ok {
		t.Fatal("no cache, no hit")
	}
}

// TestSessionCacheOnlyItsKeyset: an entry is served only under the keyset
// that sealed or opened its token; after a rotation the token is opened
// again (and refused if its key is gone).
func TestSessionCacheOnlyItsKeyset(t *testing.T) {
	c := New()
	defer c.Close()
	ks, other := testkeys.Keyset(t, time.Now()), testkeys.Keyset(t, time.Now())
	now := time.Now()
	c.PutOpened(ks, "tok", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	if _, _, ok := c.Get(other, "tok", now); ok {
		t.Fatal("an entry was served under another keyset")
	}
	if _, _, ok := c.Get(ks, "tok", now); !ok {
		t.Fatal("the entry is lost")
	}
}

// TestSessionCacheMatchesWholeToken: only the exact token text hits; a
// token differing in one byte, a prefix or an extension does not.
func TestSessionCacheMatchesWholeToken(t *testing.T) {
	c, ks, now := newTestCache(t)
	tok := "AgRrMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	c.PutOpened(ks, tok, Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	for _, forged := range []string{tok[:len(tok)-1] + "B", tok[:len(tok)-1], tok + "A", strings.ToLower(tok), ""} {
		if _, _, ok := c.Get(ks, forged, now); ok {
			t.Fatalf("%q hit the entry of %q", forged, tok)
		}
	}
}

// TestSessionCacheBounded: however many tokens are put, the cache holds at
// most sessionCacheEntries, and the newest ones.
func TestSessionCacheBounded(t *testing.T) {
	c, ks, now := newTestCache(t)
	exp := now.Add(time.Hour).Unix()
	const n = 3 * Entries
	for i := range n {
		c.PutOpened(ks, "tok"+strconv.Itoa(i), Session{User: "u"}, exp, now)
	}
	if held := c.Len(); held > Entries || held < Entries/2 {
		t.Fatalf("%d entries held, bound %d", held, Entries)
	}
	if _, _, ok := c.Get(ks, "tok"+strconv.Itoa(n-1), now); !ok {
		t.Fatal("the newest entry was dropped")
	}
	if _, _, ok := c.Get(ks, "tok0", now); ok {
		t.Fatal("the oldest entry is still held")
	}
	long := strings.Repeat("x", MaxEntryText)
	c.PutOpened(ks, long, Session{User: "u"}, exp, now)
	if _, _, ok := c.Get(ks, long, now); ok {
		t.Fatal("an entry over MaxEntryText was cached")
	}
}

// TestSessionCacheOwnsItsStrings: an entry keeps none of the caller's
// memory alive (the user of a login points into its body, which holds the
// password).
func TestSessionCacheOwnsItsStrings(t *testing.T) {
	c, ks, now := newTestCache(t)
	body := "username=jlopez&password=secret"
	user := body[len("username=") : len("username=")+len("jlopez")]
	tok := []byte("AgRrMQtoken")
	c.PutSealed(ks, tok, Session{User: user, ID: "s1"}, now.Add(time.Hour).Unix(), now)
	tok[0] = 'X' // the caller's buffer is reused
	s, _, ok := c.Get(ks, "AgRrMQtoken", now)
	if !ok || s.User != "jlopez" || s.ID != "s1" {
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
	c := New()
	ks := testkeys.Keyset(t, time.Now())
	now := time.Now()
	c.PutOpened(ks, "tok", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	c.Close()
	c.PutOpened(ks, "tok2", Session{User: "u"}, now.Add(time.Hour).Unix(), now)
	if _, _, ok := c.Get(ks, "tok", now); ok {
		t.Fatal("served after close")
	}
}

// TestSessionCacheShardsEvenly: the tokens the guard seals spread over the
// shards (each shard's generations are bounded on their own, so a skew
// would shrink the cache).
func TestSessionCacheShardsEvenly(t *testing.T) {
	c, ks, now := newTestCache(t)
	const n = 8 * shards * 100
	for i := range n {
		tok, err := ks.AppendSeal(nil, "session", sealedSession("s"+strconv.Itoa(i)), now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.PutSealed(ks, tok, Session{User: "u", ID: "s" + strconv.Itoa(i)}, now.Add(time.Hour).Unix(), now)
	}
	for i := range c.shards {
		sh := &c.shards[i]
		if got := len(sh.cur.index) + len(sh.prev.index); got < n/shards*3/4 {
			t.Errorf("shard %d holds %d of %d tokens", i, got, n)
		}
	}
}

// sealedSession is data for a token as long as a real session's.
type sealedSession string

func (s sealedSession) AppendBinary(b []byte) ([]byte, error) {
	return append(append(b, "\x01\x06\x02jlopez"...), s...), nil
}

// TestSessionCacheComparesTheToken: an entry found by the hash of a token
// is served only if its text is that token (a hash is not proof).
func TestSessionCacheComparesTheToken(t *testing.T) {
	c, ks, now := newTestCache(t)
	// The entry of "issued" filed under the hash of "forged", as a
	// collision would.
	c.put(ks, maphash.String(c.seed, "forged"), nil, "issued", Session{User: "u"}, now.Add(time.Hour).Unix())
	if _, _, ok := c.Get(ks, "forged", now); ok {
		t.Fatal("a token was served the entry of another token with its hash")
	}
}

// TestSessionCacheHoldsNoPointers: the index and the entries' text are
// pointer-free, so the collector never traces a full cache.
func TestSessionCacheHoldsNoPointers(t *testing.T) {
	gen := reflect.TypeFor[generation]()
	index, _ := gen.FieldByName("index")
	text, _ := gen.FieldByName("text")
	if index.Type.Key().Kind() != reflect.Uint64 || index.Type.Elem() != reflect.TypeFor[entry]() || text.Type.Elem().Kind() != reflect.Uint8 {
		t.Fatalf("a generation is %v", gen)
	}
	typ := reflect.TypeFor[entry]()
	for i := range typ.NumField() {
		switch typ.Field(i).Type.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Struct, reflect.Array:
			t.Errorf("entry.%s may hold a pointer", typ.Field(i).Name)
		}
	}
}

// TestSessionCacheNewKeysetDropsAll: once the keyset changes (a
// rotation), nothing put under the old one is served, and a shard that
// takes an entry under the new one lets the old entries go.
func TestSessionCacheNewKeysetDropsAll(t *testing.T) {
	c := New()
	defer c.Close()
	ks, other := testkeys.Keyset(t, time.Now()), testkeys.Keyset(t, time.Now())
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	for i := range 100 {
		c.PutOpened(ks, "tok"+strconv.Itoa(i), Session{User: "u"}, exp, now)
	}
	for i := range 1000 {
		c.PutOpened(other, "new"+strconv.Itoa(i), Session{User: "u"}, exp, now)
	}
	if n := c.Len(); n != 1000 {
		t.Fatalf("%d entries, want the new keyset's 1000", n)
	}
	for i := range 100 {
		if _, _, ok := c.Get(other, "tok"+strconv.Itoa(i), now); ok {
			t.Fatal("an entry of the old keyset was served under the new one")
		}
		if _, _, ok := c.Get(other, "new"+strconv.Itoa(i), now); !ok {
			t.Fatal("an entry of the new keyset is lost")
		}
	}
}

// TestSessionCacheConcurrent: gets and puts from many goroutines, across
// generation turnovers, serve only what was put (run with -race).
func TestSessionCacheConcurrent(t *testing.T) {
	c, ks, now := newTestCache(t)
	exp := now.Add(time.Hour).Unix()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * Entries / 4 {
				tok := "tok-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				c.PutOpened(ks, tok, Session{User: "user" + strconv.Itoa(i), ID: tok}, exp, now)
				if s, _, ok := c.Get(ks, tok, now); ok && (s.ID != tok || s.User != "user"+strconv.Itoa(i)) {
					t.Errorf("%s: got %+v", tok, s)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// newTestCache is an empty cache closed when the test ends, a fresh
// keyset and the test's clock.
func newTestCache(t *testing.T) (*Cache, *tokens.Keyset, time.Time) {
	t.Helper()
	c := New()
	t.Cleanup(c.Close)
	return c, testkeys.Keyset(t, time.Now()), time.Now()
}
