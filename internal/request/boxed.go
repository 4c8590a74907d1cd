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
	boxes    sync.Map // string -> any holding that string
	boxCount atomic.Int32
	maxBoxes int32 = 512
)

// boxed is s as an `any`, shared with every earlier caller for the same s.
func boxed(s string) any {
	if v, ok := boxes.Load(s); ok {
		return v
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
	if prev, loaded := boxes.LoadOrStore(s, v); loaded {
		boxCount.Add(-1)
		return prev
	}
	return v
}
