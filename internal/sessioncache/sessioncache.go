// Package sessioncache remembers the guard's session cookies it sealed
// (on a login) or already opened (on an operation), so a later request of
// the session, its logout above all, is served without decrypting the
// cookie.
//
// Only a token the guard issued can hit it: entries are put when the
// guard seals a token or after one opened, and a lookup matches the whole
// token text (the map compares keys, not just their hashes). An entry is
// served only under the keyset that sealed or opened it and before its
// token expires. The cache knows nothing of revocations: its caller asks
// the revocation set on every request, hit or miss. A lost entry only
// costs a decryption.
//
// Memory is bounded: each shard keeps two generations of at most
// shardGeneration entries; when the current one is full, the older one is
// dropped and its map reused. Each entry holds its token, user and
// session id in one allocation of its own, so it keeps nothing of the
// request alive (a login's body, with its password, is not referenced).
package sessioncache

import (
	"strings"
	"sync"
	"time"

	"github.com/login-guard/login_guard/internal/tokens"
)

// Session is what a session cookie carries (the app's session type, field
// for field).
type Session struct {
	User, ID  string
	LoginAt   int64
	SteppedUp bool
}

// Cache is the session cache. A nil *Cache holds nothing.
type Cache struct {
	shards [shards]shard
}

const (
	shards = 16
	// Entries is the most entries the cache holds (about 250 bytes each
	// for a typical session, at most MaxEntryText bytes of text).
	Entries         = 16384
	shardGeneration = Entries / shards / 2
	// MaxEntryText bounds one entry's token, user and session id: a
	// longer one is opened each time instead.
	MaxEntryText = 1024
)

type shard struct {
	mu        sync.Mutex
	cur, prev map[string]entry
	_         [40]byte // a shard per cache line: shards do not contend
}

// entry is one session, with as few pointers as it can have (the map's
// writes and the collector's scans pay per pointer): its text holds the
// token (the entry's key is that prefix of it), then the user, then the
// session id.
type entry struct {
	text      string
	userEnd   int // the user is text[len(token):userEnd]
	loginAt   int64
	expires   int64 // Unix seconds, as inside the token
	steppedUp bool
	keys      *tokens.Keyset // the keyset that sealed or opened the token
}

// New returns an empty cache.
func New() *Cache {
	c := new(Cache)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.cur, sh.prev = map[string]entry{}, map[string]entry{}
	}
	return c
}

// shard picks a token's shard from two characters near its end, which
// are its authentication tag's (random) in a token the guard sealed, so
// issued tokens spread evenly; a forged token can pick its shard, which
// only decides which lock its miss takes.
func (c *Cache) shard(token string) *shard {
	n := len(token)
	if n < 3 {
		return &c.shards[0]
	}
	return &c.shards[(uint(token[n-2])*31+uint(token[n-3]))%shards]
}

// Get returns the session of token if ks sealed or opened it and it has
// not expired at now, and when it expires (what tokens' OpenUntil would
// return).
func (c *Cache) Get(ks *tokens.Keyset, token string, now time.Time) (Session, time.Time, bool) {
	if c == nil {
		return Session{}, time.Time{}, false
	}
	sh := c.shard(token)
	sh.mu.Lock()
	e, ok := sh.cur[token]
	if !ok {
		e, ok = sh.prev[token]
	}
	sh.mu.Unlock()
	if !ok || e.keys != ks || now.Unix() >= e.expires {
		return Session{}, time.Time{}, false
	}
	s := Session{User: e.text[len(token):e.userEnd], ID: e.text[e.userEnd:], LoginAt: e.loginAt, SteppedUp: e.steppedUp}
	return s, time.Unix(e.expires, 0), true
}

// PutSealed remembers a token ks has just sealed (its text in token),
// valid until expires (Unix seconds).
func (c *Cache) PutSealed(ks *tokens.Keyset, token []byte, s Session, expires int64, now time.Time) {
	if c == nil || !fits(len(token), s, expires, now) {
		return
	}
	var b strings.Builder
	b.Grow(len(token) + len(s.User) + len(s.ID))
	b.Write(token)
	c.store(ks, &b, len(token), s, expires)
}

// PutOpened remembers a token ks has just opened.
func (c *Cache) PutOpened(ks *tokens.Keyset, token string, s Session, expires int64, now time.Time) {
	if c == nil || !fits(len(token), s, expires, now) {
		return
	}
	var b strings.Builder
	b.Grow(len(token) + len(s.User) + len(s.ID))
	b.WriteString(token)
	c.store(ks, &b, len(token), s, expires)
}

func fits(tokenLen int, s Session, expires int64, now time.Time) bool {
	return now.Unix() < expires && tokenLen+len(s.User)+len(s.ID) <= MaxEntryText
}

// store adds the entry whose token text b holds, copying the session's
// strings into the same allocation.
func (c *Cache) store(ks *tokens.Keyset, b *strings.Builder, tokenLen int, s Session, expires int64) {
	b.WriteString(s.User)
	b.WriteString(s.ID)
	text := b.String()
	token := text[:tokenLen]
	e := entry{text: text, userEnd: tokenLen + len(s.User), loginAt: s.LoginAt, expires: expires, steppedUp: s.SteppedUp, keys: ks}
	sh := c.shard(token)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.cur == nil {
		return // closed
	}
	if len(sh.cur) >= shardGeneration {
		clear(sh.prev)
		sh.cur, sh.prev = sh.prev, sh.cur
	}
	sh.cur[token] = e
}

// Len is how many entries the cache holds.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.cur) + len(sh.prev)
		sh.mu.Unlock()
	}
	return n
}

// Close drops every entry; a request still in flight afterwards finds
// none and puts none.
func (c *Cache) Close() {
	if c == nil {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.cur, sh.prev = nil, nil
		sh.mu.Unlock()
	}
}
