package caddymodule

import (
	"errors"
	"strconv"
	"time"
)

var (
	errDenied    = errors.New("request refused")
	errChallenge = errors.New("additional verification required")
)

// errRateLimited carries Retry-After for a 429.
type errRateLimited struct{ after time.Duration }

func (e errRateLimited) Error() string { return "too many requests" }

// RetryAfterSeconds is the Retry-After value, rounded up.
func (e errRateLimited) RetryAfterSeconds() string {
	s := int((e.after + time.Second - 1) / time.Second)
	return strconv.Itoa(s)
}
