package counter

import "time"

// Filter selects entries for List and Clear. Empty fields match anything,
// so the zero Filter matches every entry.
type Filter struct {
	// Rule, when set, matches Key.Rule exactly.
	Rule string
	// Subject, when set, matches Key.Subject exactly.
	Subject string
	// Match, when set, must also accept the key (e.g. "every key of this
	// user, with or without an address").
	Match func(Key) bool
	// LimitedOnly keeps only entries that are locked or at their limit.
	LimitedOnly bool
}

func (f *Filter) matchKey(k Key) bool {
	if f.Rule != "" && f.Rule != k.Rule {
		return false
	}
	if f.Subject != "" && f.Subject != k.Subject {
		return false
	}
	return f.Match == nil || f.Match(k)
}

// Entry is one held counter as an admin sees it.
type Entry struct {
	Key Key
	// Kind is "rate", "distinct" or "lockout".
	Kind string
	// Count is the hits, distinct values, or failures plus in-flight
	// attempts inside the window.
	Count int
	Limit int
	// Limited is true when the next new event would be refused.
	Limited bool
	// LockedUntil is set while a lockout key is locked.
	LockedUntil time.Time
	// RetryAfter is how long until the key stops being limited, when
	// Limited.
	RetryAfter time.Duration
	// Unreadable is set when the store holds the counter but cannot read
	// its subject back (one sealed under key material it no longer
	// holds): Key.Subject is then empty, so no user or address filter
	// matches it, and Unreadable is the store's opaque name for the
	// counter, which tells two such counters of one rule apart.
	Unreadable string
}

// Stats describes a store's occupancy.
type Stats struct {
	Keys    int
	MaxKeys int
	// Bytes approximates the memory held by entries (see Memory's doc).
	Bytes int64
	// Pinned is the number of keys that cannot be evicted right now.
	Pinned int
	// Evictions counts live keys dropped to make room (expired keys
	// dropped are not counted).
	Evictions uint64
	// Refusals counts new keys refused because the store was full.
	Refusals uint64
}
