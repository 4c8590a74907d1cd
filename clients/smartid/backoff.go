package smartid

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// backoffDelay is the wait before attempt n+1 after attempt n failed
// (n ≥ 1): a random point in [d/2, d], d = min(base·2^(n-1), max). The
// jitter keeps many guards that saw the same SmartID outage from retrying
// in lockstep; the floor keeps a minimum spacing. rnd is in [0, 1).
func backoffDelay(base, max time.Duration, n int, rnd float64) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(rnd*float64(d-d/2))
}

// retryAfter reads a 429/503's Retry-After when given in seconds, capped
// at max; 0 when absent or in another form.
func retryAfter(h http.Header, max time.Duration) time.Duration {
	return retryAfterSeconds([]byte(h.Get("Retry-After")), max)
}

// retryAfterSeconds is retryAfter on the field's value: decimal seconds
// only (an HTTP date is ignored), capped at max.
func retryAfterSeconds(v []byte, max time.Duration) time.Duration {
	secs, ok := parseDecimal(v)
	if !ok {
		return 0
	}
	return min(time.Duration(min(secs, int64(max/time.Second)+1))*time.Second, max)
}

// sleepContext is the default Config.Sleep.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jitter is the random source for backoffDelay; math/rand/v2's global
// generator is safe for concurrent workers.
func jitter() float64 { return rand.Float64() }
