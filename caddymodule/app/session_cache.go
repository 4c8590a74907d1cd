package app

import (
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

// cachedSession is one entry, with as few pointers as it can have (the
// map's writes and the collector's scans pay per pointer): its text holds
// the token (the entry's key is that prefix of it), then the user, then
// the session id.
type cachedSession struct {
	text      string
	userEnd   int            // the user is text[len(token):userEnd]
	loginAt   int64          // Session.LoginAt
	expires   int64          // Unix seconds, as inside the token
	steppedUp bool           // Session.SteppedUp
	keys      *tokens.Keyset // the keyset that sealed or opened the token
}

func newSessionCache() *sessionCache {
	sc := new(sessionCache)
	for i := range sc.shards {
		sh := &sc.shards[i]
		sh.cur, sh.prev = map[string]cachedSession{}, map[string]cachedSession{}
	}
	return sc
}

// shard picks a token's shard from two characters near its end, which
// are its authentication tag's (random) in a token the guard sealed, so
// issued tokens spread evenly; a forged token can pick its shard, which
// only decides which lock its miss takes.
func (sc *sessionCache) shard(token string) *sessionCacheShard {
	n := len(token)
	if n < 3 {
		return &sc.shards[0]
	}
	return &sc.shards[(uint(token[n-2])*31+uint(token[n-3]))%sessionCacheShards]
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
	s := Session{User: e.text[len(token):e.userEnd], Session: e.text[e.userEnd:], LoginAt: e.loginAt, SteppedUp: e.steppedUp}
	return s, time.Unix(e.expires, 0), true
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
	e := cachedSession{text: text, userEnd: tokenLen + len(s.User), loginAt: s.LoginAt, expires: expires, steppedUp: s.SteppedUp, keys: ks}
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
	sh.cur[token] = e
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
