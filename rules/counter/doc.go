// Package counter holds login_guard's exact counters: sliding-window hit
// logs (rate limits), distinct-value sets (password spraying, one user
// from many addresses) and failure counters with lockouts.
//
// Every operation checks and records under one lock, so a limit of N lets
// exactly N events through a window however many goroutines race for it:
// a check-then-increment split (the go-chi/httprate #2 class of bug) cannot
// happen here. Counters are kept in plain maps and slabs, never in a cache
// that may drop a write (ristretto drops Sets of new keys by design), so a
// counter is never lost while its key is held.
//
// Memory is bounded by a maximum number of keys. When the store is full,
// keys whose window has passed are dropped first, then the least recently
// used keys that are neither at their limit nor locked nor holding an
// in-flight reservation. A key at its limit or locked out is never evicted:
// if every held key is like that, a new key is refused with Result.Full and
// the caller applies its on_full policy. For an attacker this means that
// flooding the store with new keys (a million addresses) can make new
// visitors meet on_full, but cannot free the keys already limited or locked.
//
// A full store is what every garbage collection walks during such a flood,
// so its layout keeps that walk short: each shard holds its entries in a
// slab of a few large chunks, linked to each other by index rather than by
// pointer and found through a map from key hash to index, which holds no
// pointer for the collector to follow. A key's first hits are kept inline,
// so a key of one hit costs the collector its slab slot and its subject,
// and no object of its own.
//
// The Store interface lets a shared store (Redis, for several Caddy
// instances) replace the in-memory one later; its methods take a context
// and return errors for that reason, though Memory never fails.
package counter
