package app

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/login-guard/login_guard/internal/tokens"
)

// sessionCache remembers the session cookies this guard sealed (on a
// login) or already opened (on an operation), so a later request of the
// session is served without decrypting its cookie. Only a token the guard
// issued can hit it: entries are put when the guard seals a token or
// after one opened, and a lookup matches the whole token text (the map
// compares keys, not just their hashes). An entry is served only under
// the keyset that sealed or opened it and before its token expires; a
// revoked session is still refused (openSession asks the revocation set
// on every request, hit or miss). A lost entry only costs a decryption.
//
// Memory is bounded: each shard keeps two generations of at most
// shardGeneration entries; when the current one is full, the older one is
// dropped and its map reused. Each entry holds its token, user and
// session id in one allocation of its own, so it keeps nothing of the
// request alive (a login's body, with its password, is not referenced).
type sessionCache struct {
	seed   maphash.Seed
	shards [sessionCacheShards]sessionCacheShard
}

const (
	sessionCacheShards = 16
	// sessionCacheEntries is the most entries the cache holds (about
	// 250 bytes each for a typical session; entries up to
	// maxCachedEntryText bytes of text).
	sessionCacheEntries = 16384
	shardGeneration     = sessionCacheEntries / sessionCacheShards / 2
	// maxCachedEntryText bounds one entry's token, user and session id:
	// a longer one is opened each time instead.
	maxCachedEntryText = 1024
)

type sessionCacheShard struct {
	mu        sync.Mutex
	cur, prev map[string]cachedSession
	_         [40]byte // a shard per cache line: shards do not contend
}

type cachedSession struct {
	s       Session
	expires int64          // Unix seconds, as inside the token
	keys    *tokens.Keyset // the keyset that sealed or opened the token
}

func newSessionCache() *sessionCache {
	sc := &sessionCache{seed: maphash.MakeSeed()}
	for i := range sc.shards {
		sh := &sc.shards[i]
		sh.cur, sh.prev = map[string]cachedSession{}, map[string]cachedSession{}
	}
	return sc
}

func (sc *sessionCache) shard(token string) *sessionCacheShard {
	return &sc.shards[maphash.String(sc.seed, token)%sessionCacheShards]
}

// get returns the session of token if ks sealed or opened it and it has
// not expired at now, and when it expires (what OpenUntil would return).
func (sc *sessionCache) get(ks *tokens.Keyset, token string, now time.Time) (Session, time.Time, bool) {
	if sc == nil {
		return Session{}, time.Time{}, false
	}
	sh := sc.shard(token)
	sh.mu.Lock()
	e, ok := sh.cur[token]
	if !ok {
		e, ok = sh.prev[token]
	}
	sh.mu.Unlock()
	if !ok || e.keys != ks || now.Unix() >= e.expires {
		return Session{}, time.Time{}, false
	}
	return e.s, time.Unix(e.expires, 0), true
}

// putSealed remembers a token ks has just sealed (its text in token).
func (sc *sessionCache) putSealed(ks *tokens.Keyset, token []byte, s Session, expires int64, now time.Time) {
	if sc == nil || !sc.fits(len(token), s, expires, now) {
		return
	}
	var b strings.Builder
	b.Grow(len(token) + len(s.User) + len(s.Session))
	b.Write(token)
	sc.store(ks, &b, len(token), s, expires)
}

// putOpened remembers a token ks has just opened.
func (sc *sessionCache) putOpened(ks *tokens.Keyset, token string, s Session, expires int64, now time.Time) {
	if sc == nil || !sc.fits(len(token), s, expires, now) {
		return
	}
	var b strings.Builder
	b.Grow(len(token) + len(s.User) + len(s.Session))
	b.WriteString(token)
	sc.store(ks, &b, len(token), s, expires)
}

func (sc *sessionCache) fits(tokenLen int, s Session, expires int64, now time.Time) bool {
	return now.Unix() < expires && tokenLen+len(s.User)+len(s.Session) <= maxCachedEntryText
}

// store adds the entry whose token text b holds, copying the session's
// strings into the same allocation.
func (sc *sessionCache) store(ks *tokens.Keyset, b *strings.Builder, tokenLen int, s Session, expires int64) {
	b.WriteString(s.User)
	b.WriteString(s.Session)
	text := b.String()
	token := text[:tokenLen]
	s.User = text[tokenLen : tokenLen+len(s.User)]
	s.Session = text[tokenLen+len(s.User):]
	sh := sc.shard(token)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.cur == nil {
		return // closed
	}
	if len(sh.cur) >= shardGeneration {
		clear(sh.prev)
		sh.cur, sh.prev = sh.prev, sh.cur
	}
	sh.cur[token] = cachedSession{s: s, expires: expires, keys: ks}
}

// close drops every entry; a request still in flight afterwards finds
// none and puts none.
func (sc *sessionCache) close() {
	if sc == nil {
		return
	}
	for i := range sc.shards {
		sh := &sc.shards[i]
		sh.mu.Lock()
		sh.cur, sh.prev = nil, nil
		sh.mu.Unlock()
	}
}
