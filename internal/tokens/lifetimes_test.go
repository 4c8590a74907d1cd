package tokens

import (
	"strings"
	"testing"
	"time"
)

// TestLifetimesCheck: negative values are refused (a negative rotation
// would silently switch rotation off), and so is a grace below the ttl.
func TestLifetimesCheck(t *testing.T) {
	h := time.Hour
	for _, c := range []struct {
		l    Lifetimes
		want string
	}{
		{Lifetimes{}, ""},
		{Lifetimes{TTL: 24 * h, Grace: 24 * h}, ""},
		{Lifetimes{TTL: -h}, "ttl must be positive, not -1h0m0s"},
		{Lifetimes{Rotation: -h}, "key_rotation must be positive, not -1h0m0s"},
		{Lifetimes{Grace: -h}, "key_grace must be positive"},
		{Lifetimes{TTL: 24 * h, Grace: h}, "key_grace must be at least ttl"},
	} {
		err := c.l.WithDefaults().Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.l, err, c.want)
		}
	}
	if got := (Lifetimes{}).WithDefaults(); got != (Lifetimes{TTL: 12 * h, Rotation: 7 * 24 * h, Grace: 13 * h}) {
		t.Errorf("defaults %+v", got)
	}
}
