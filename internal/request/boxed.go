package request

import (
	"sync"
	"sync/atomic"
)

// Placeholder values are stored in Caddy's replacer as `any`, and turning
// a string into an `any` allocates. The strings the guard publishes per
// request (answer codes, rule and engine reasons) come from a small set,
// so each is boxed once and reused; the set is bounded, so a source of
// many distinct strings (an engine's free-text reason) costs an
// allocation per request again instead of memory without end.
var (
	boxes    sync.Map // string -> *box of that string
	boxCount atomic.Int32
	maxBoxes int32 = 512
	// recent answers most calls without the map's hashing: the box each
	// slot last handed out, the slot chosen by the string's length and
	// last byte. A flood of one refusal asks for the same two or three
	// strings on every request; a slot costs one string compare.
	recent [32]atomic.Pointer[box]
)

// box is a string and the `any` holding it, made once per kept string.
type box struct {
	s string
	v any
}

func recentSlot(s string) int {
	if s == "" {
		return 0
	}
	return (len(s)*7 + int(s[len(s)-1])) % len(recent)
}

// boxed is s as an `any`, shared with every earlier caller for the same s.
func boxed(s string) any {
	slot := &recent[recentSlot(s)]
	if b := slot.Load(); b != nil && b.s == s {
		return b.v
	}
	if b, ok := boxes.Load(s); ok {
		slot.Store(b.(*box))
		return b.(*box).v
	}
	var v any = s
	// Reserve a place before storing, so concurrent callers never keep
	// more than maxBoxes.
	for {
		n := boxCount.Load()
		if n >= maxBoxes {
			return v
		}
		if boxCount.CompareAndSwap(n, n+1) {
			break
		}
	}
	b := &box{s: s, v: v}
	if prev, loaded := boxes.LoadOrStore(s, b); loaded {
		boxCount.Add(-1)
		b = prev.(*box)
	}
	slot.Store(b)
	return b.v
}
