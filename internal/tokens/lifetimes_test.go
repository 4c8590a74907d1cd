package tokens

import (
	"strings"
	"testing"
	"time"
)

// TestLifetimesCheck: negative values are refused (a negative rotation
// would silently switch rotation off), values out of 1s..3650 days, and a
// grace below the ttl.
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
		// Out of bounds: a nanosecond's cookie has Max-Age 0, and a ttl
		// near the duration's limit overflowed the default grace.
		{Lifetimes{TTL: time.Nanosecond}, "ttl must be from 1s to 87600h0m0s, not 1ns"},
		{Lifetimes{Rotation: time.Millisecond}, "key_rotation must be from 1s"},
		{Lifetimes{TTL: 3651 * 24 * h}, "ttl must be from 1s to 87600h0m0s, not 87624h0m0s"},
		{Lifetimes{TTL: 2562047 * h}, "ttl must be from 1s to 87600h0m0s"},
		{Lifetimes{TTL: h, Grace: 3651 * 24 * h}, "key_grace must be from 1s to 87601h0m0s"},
		{Lifetimes{TTL: MaxLifetime, Rotation: MaxLifetime}, ""},
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
