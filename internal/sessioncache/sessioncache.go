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
// dropped and its index reused. Nothing the cache holds contains a
// pointer the garbage collector would trace (an index from the token's
// hash to offsets, and the entries' text in a byte buffer), so a full
// cache adds nothing to a collection's marking work; each entry's text is
// copied in, so it keeps nothing of the request alive (a login's body,
// with its password, is not referenced).
package sessioncache

import (
	"hash/maphash"
	"sync"
	"time"
	"unsafe"

	"github.com/login-guard/login_guard/internal/tokens"
)

// Session is what a session cookie carries (the app's session type, field
// for field).
type Session struct {
	User, ID   string
	LoginAt    int64
	Challenged bool
}

// Cache is the session cache. A nil *Cache holds nothing.
type Cache struct {
	seed   maphash.Seed
	shards [shards]shard
}

const (
	shards = 16
	// Entries is the most entries the cache holds (about 200 bytes each
	// for a typical session, at most MaxEntryText bytes of text).
	Entries         = 16384
	shardGeneration = Entries / shards / 2
	// MaxEntryText bounds one entry's token, user and session id: a
	// longer one is opened each time instead.
	MaxEntryText = 1024
)

type shard struct {
	mu sync.Mutex
	// keys is the keyset every entry was sealed or opened under; an entry
	// of another one is dropped with all of them.
	keys      *tokens.Keyset
	cur, prev generation
	closed    bool
}

// generation is up to shardGeneration entries: an index from the token's
// hash to the entry, and the entries' text. The text is only ever
// appended to, never rewritten: the strings Get returns alias it.
type generation struct {
	index map[uint64]entry
	text  []byte
}

// entry locates one session's text (token, user, session id, in that
// order, from off) and holds the rest of it.
type entry struct {
	off        uint32
	tokenLen   uint16
	userLen    uint16
	idLen      uint16
	challenged bool
	loginAt    int64
	expires    int64 // Unix seconds, as inside the token
}

// New returns an empty cache.
func New() *Cache {
	c := &Cache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.cur.index, sh.prev.index = map[uint64]entry{}, map[uint64]entry{}
	}
	return c
}

func (c *Cache) shard(h uint64) *shard { return &c.shards[h%shards] }

// Get returns the session of token if ks sealed or opened it and it has
// not expired at now, and when it expires (what tokens' OpenUntil would
// return). A hit is the whole token text, compared byte for byte.
func (c *Cache) Get(ks *tokens.Keyset, token string, now time.Time) (Session, time.Time, bool) {
	if c == nil {
		return Session{}, time.Time{}, false
	}
	h := maphash.String(c.seed, token)
	sh := c.shard(h)
	sh.mu.Lock()
	if sh.keys != ks {
		sh.mu.Unlock()
		return Session{}, time.Time{}, false
	}
	g := &sh.cur
	e, ok := g.index[h]
	if !ok {
		g = &sh.prev
		e, ok = g.index[h]
	}
	var text []byte
	if ok {
		text = g.text[e.off : int(e.off)+int(e.tokenLen)+int(e.userLen)+int(e.idLen)]
	}
	sh.mu.Unlock()
	if !ok || string(text[:e.tokenLen]) != token || now.Unix() >= e.expires {
		return Session{}, time.Time{}, false
	}
	text = text[e.tokenLen:]
	s := Session{User: stringOf(text[:e.userLen]), ID: stringOf(text[e.userLen:]), LoginAt: e.loginAt, Challenged: e.challenged}
	return s, time.Unix(e.expires, 0), true
}

// stringOf is b as a string without a copy: b is generation text, which
// is never written again.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// PutSealed remembers a token ks has just sealed (its text in token),
// valid until expires (Unix seconds).
func (c *Cache) PutSealed(ks *tokens.Keyset, token []byte, s Session, expires int64, now time.Time) {
	if c == nil || !fits(len(token), s, expires, now) {
		return
	}
	c.put(ks, maphash.Bytes(c.seed, token), token, "", s, expires)
}

// PutOpened remembers a token ks has just opened.
func (c *Cache) PutOpened(ks *tokens.Keyset, token string, s Session, expires int64, now time.Time) {
	if c == nil || !fits(len(token), s, expires, now) {
		return
	}
	c.put(ks, maphash.String(c.seed, token), nil, token, s, expires)
}

func fits(tokenLen int, s Session, expires int64, now time.Time) bool {
	return now.Unix() < expires && tokenLen+len(s.User)+len(s.ID) <= MaxEntryText
}

// put adds the entry of the token whose text is tb or ts (one is empty)
// and hash h. An entry of the same hash is replaced: two tokens that
// collide only cost one of them a decryption.
func (c *Cache) put(ks *tokens.Keyset, h uint64, tb []byte, ts string, s Session, expires int64) {
	sh := c.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return
	}
	if sh.keys != ks {
		// A new keyset (a key rotation): what the old one vouched for is
		// dropped.
		sh.keys = ks
		sh.cur.drop()
		sh.prev.drop()
	}
	if len(sh.cur.index) >= shardGeneration {
		sh.prev.drop()
		sh.cur, sh.prev = sh.prev, sh.cur
		sh.cur.text = make([]byte, 0, cap(sh.prev.text))
	}
	g := &sh.cur
	e := entry{off: uint32(len(g.text)), tokenLen: uint16(len(tb) + len(ts)), userLen: uint16(len(s.User)),
		idLen: uint16(len(s.ID)), challenged: s.Challenged, loginAt: s.LoginAt, expires: expires}
	g.text = append(g.text, tb...)
	g.text = append(g.text, ts...)
	g.text = append(g.text, s.User...)
	g.text = append(g.text, s.ID...)
	g.index[h] = e
}

// drop empties g, keeping its index's memory. Its text is let go, not
// reused: strings handed out may still point into it.
func (g *generation) drop() {
	clear(g.index)
	g.text = nil
}

// Len is how many entries the cache holds.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.cur.index) + len(sh.prev.index)
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
		sh.closed, sh.keys = true, nil
		sh.cur, sh.prev = generation{}, generation{}
		sh.mu.Unlock()
	}
}
