// Package redisstore keeps the guard's shared state in Redis (single node,
// Sentinel or Cluster, through go-redis v9), so that several Caddy
// instances behind one load balancer enforce one set of limits.
//
// Conn is the connection: its options, a per-call deadline that bounds the
// socket (ContextTimeoutEnabled), a breaker that makes calls fail at once
// while Redis is down, the start-up checks (maxmemory-policy noeviction,
// the key-material fingerprint) and the keyed hash every key name is built
// from. Counter is the rules' counter.Store on it, OnceSet the set of
// one-time values (replayed tokens, spent step-up tokens, nonces).
//
// Exactness: every counting operation is one Lua script that reads the
// time with Redis TIME, checks and records atomically on one key slot, and
// is sent once. A script is never retried by the client, since a retry
// after a lost reply would count twice; EVALSHA falls back to EVAL only on
// NOSCRIPT, which means the script did not run. A call whose reply is lost
// may have counted: the error is reported and the route's
// on_store_failure policy applies, so the error is on the side of
// counting too much. The one exception is a lockout's settlement (the
// failed guess recorded after the portal answered): if that call fails,
// the guess goes uncounted and its reservation lapses.
//
// Privacy: no key and no set member holds a user name or an address.
// Counters are named by a keyed hash (HMAC-SHA-256 under a secret derived
// from the guard's key material, which Redis never sees) of the rule and
// subject, used as the Cluster hash tag so each counter's keys share one
// slot; distinct values are stored as keyed hashes; the subject, kept for
// the admin view, is sealed with AES-GCM under a key derived the same way.
package redisstore
